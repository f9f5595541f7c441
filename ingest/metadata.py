"""Knowledge officers' metadata for a document: from a sidecar `NAME.meta.yaml`,
Markdown front matter, or the upload form.

    title: Anmeldung einer Wohnung – Ablauf im Bürgerbüro
    gueltig_ab: 2024-01-01
    gueltig_bis: 2025-12-31
    zustaendig: Frau Beispiel, Bürgerbüro
    zuletzt_geprueft: 2024-06-30
    schlagworte: [Anmeldung, Umzug]
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

KEYS = ("title", "gueltig_ab", "gueltig_bis", "zustaendig", "zuletzt_geprueft", "schlagworte")


class MetadataError(ValueError):
    pass


@dataclass
class DocumentMeta:
    title: str | None = None
    valid_from: str | None = None  # ISO dates
    valid_until: str | None = None
    owner: str | None = None
    reviewed_at: str | None = None
    keywords: list[str] = field(default_factory=list)

    def keywords_json(self) -> str:
        return json.dumps(self.keywords, ensure_ascii=False)

    def merged(self, other: "DocumentMeta") -> "DocumentMeta":
        """`other` wins where it says something (the sidecar over front matter)."""
        return DocumentMeta(
            title=other.title or self.title,
            valid_from=other.valid_from or self.valid_from,
            valid_until=other.valid_until or self.valid_until,
            owner=other.owner or self.owner,
            reviewed_at=other.reviewed_at or self.reviewed_at,
            keywords=other.keywords or self.keywords,
        )


def _date(value, key: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise MetadataError(f"{key}: Datum „{text}“ nicht lesbar (erwartet JJJJ-MM-TT oder TT.MM.JJJJ)")


def from_mapping(data: dict) -> DocumentMeta:
    data = {str(k).lower(): v for k, v in (data or {}).items()}
    keywords = data.get("schlagworte") or []
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",") if k.strip()]
    return DocumentMeta(
        title=" ".join(str(data["title"]).split()) if data.get("title") else None,
        valid_from=_date(data.get("gueltig_ab"), "gueltig_ab"),
        valid_until=_date(data.get("gueltig_bis"), "gueltig_bis"),
        owner=str(data["zustaendig"]).strip() if data.get("zustaendig") else None,
        reviewed_at=_date(data.get("zuletzt_geprueft"), "zuletzt_geprueft"),
        keywords=[str(k) for k in keywords],
    )


def sidecar_for(path: Path) -> Path | None:
    """`pauswg.meta.yaml` or `pauswg.md.meta.yaml` next to `pauswg.md`."""
    for candidate in (path.with_name(path.stem + ".meta.yaml"), path.with_name(path.name + ".meta.yaml")):
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path) -> DocumentMeta:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MetadataError(f"{path.name}: kein gültiges YAML ({exc})") from exc
    if data is not None and not isinstance(data, dict):
        raise MetadataError(f"{path.name}: erwartet Schlüssel wie {', '.join(KEYS)}")
    return from_mapping(data or {})


def write_sidecar(path: Path, values: dict) -> Path | None:
    """For the upload form: the given values as a sidecar next to the uploaded file."""
    values = {k: v for k, v in values.items() if k in KEYS and v not in (None, "", [])}
    target = path.with_name(path.name + ".meta.yaml")
    if not values:
        target.unlink(missing_ok=True)
        return None
    from_mapping(values)  # validate before writing
    target.write_text(yaml.safe_dump(values, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target
