"""Names that come from outside — uploaded file names, e-mail attachment names,
collection names — made safe before anything is stored or shown.

File names are only ever shown and used for the format (suffix); files are
stored under names the server makes. Collection names are identifiers, never
path parts.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from ingest.extract import SUPPORTED_SUFFIXES

MAX_NAME_BYTES = 150  # leaves room for suffixes like ".meta.yaml" below the 255-byte file-system limit
COLLECTION = re.compile(r"[^\W_][\w\-]{0,63}")


class InvalidName(ValueError):
    """A name that cannot be used (message in German, for a 422)."""


def _last_part(raw: str | None) -> str:
    """NFC, without control or direction-override characters, the last path component."""
    text = unicodedata.normalize("NFC", raw or "")
    # Cc: NUL and other controls; Cf: right-to-left overrides, zero-width characters
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(re.split(r"[\\/]", text)[-1].split()).strip(" .") if text else ""


def display_name(raw: str | None) -> str:
    """A name from outside as it may appear in a message, even when it cannot be used."""
    return _last_part(raw)[:100] or "(ohne Namen)"


def clean_filename(raw: str | None) -> str:
    """The last path component, NFC, without control or direction-override characters,
    shortened to MAX_NAME_BYTES (keeping the suffix). Raises InvalidName."""
    name = _last_part(raw)
    if not name or name.startswith(".") or name in ("", ".", ".."):
        raise InvalidName("Dateiname fehlt oder ist ungültig.")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InvalidName(f"Dateiformat nicht unterstützt ({', '.join(sorted(SUPPORTED_SUFFIXES))}).")
    stem = name[: -len(suffix)]
    while len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(" .")
    if not stem:
        raise InvalidName("Dateiname fehlt oder ist ungültig.")
    return stem + suffix


def check_collection(name: str) -> str:
    """A collection name: letters, digits, "-" and "_", at most 64 characters, starting with a letter or digit."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not COLLECTION.fullmatch(name):
        raise InvalidName("Ungültiger Name der Sammlung: erlaubt sind Buchstaben, Ziffern, „-“ und „_“ "
                          "(höchstens 64 Zeichen, am Anfang ein Buchstabe oder eine Ziffer).")
    return name
