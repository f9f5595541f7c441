"""E-mail (.eml): subject as title, the body, then the text of attachments in supported formats."""

from __future__ import annotations

import email
import tempfile
from email import policy
from pathlib import Path

from ingest.errors import ExtractionError
from ingest.limits import IngestLimits
from ingest.names import InvalidName, clean_filename
from ingest.office import html_to_markdown, zip_unpacked_size


def eml_to_markdown(path: Path, extract_attachment, limits: IngestLimits = IngestLimits()) -> tuple[str, str | None, list[str]]:
    """Markdown text, subject and problems. `extract_attachment(path) -> text` reads an attachment.

    A bad attachment (unsafe name, unreadable, unsupported) is skipped and reported; the mail is
    indexed. All attachments together, with what DOCX/ODT attachments unpack to, may come to at
    most `limits.max_unpacked_bytes`; at most `limits.max_attachments` are read."""
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    subject = str(msg.get("subject") or "").strip() or None
    header = "\n".join(f"{k}: {msg[k]}" for k in ("From", "To", "Date") if msg.get(k))
    body_part = msg.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        content = body_part.get_content()
        body = html_to_markdown(content)[0] if body_part.get_content_subtype() == "html" else content
    parts = [header, body.strip()]
    problems: list[str] = []
    unpacked = 0
    for number, attachment in enumerate(msg.iter_attachments(), start=1):
        if number > limits.max_attachments:
            problems.append(f"Anhänge ab Nr. {number} nicht gelesen: höchstens {limits.max_attachments} je E-Mail "
                            "(Einstellung AMTSWISSEN_MAX_ATTACHMENTS)")
            break
        raw_name = attachment.get_filename() or f"anhang-{number}"
        try:
            name = clean_filename(raw_name)
        except InvalidName as exc:
            problems.append(f"Anhang {number} übersprungen: {exc}")
            continue
        data = attachment.get_payload(decode=True) or b""
        unpacked += len(data)
        limits.unpacked(unpacked, "Die Anhänge der E-Mail")
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / name
            file.write_bytes(data)
            # one budget for the whole mail: what zip-based attachments (DOCX, ODT) unpack to counts too
            unpacked += zip_unpacked_size(file)
            limits.unpacked(unpacked, "Die Anhänge der E-Mail")
            try:
                text = extract_attachment(file)
            except ExtractionError as exc:  # the reason, never the temporary path
                problems.append(f"Anhang {name}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - an unreadable attachment is reported, the mail indexed
                problems.append(f"Anhang {name}: nicht lesbar ({type(exc).__name__})")
                continue
        parts.append(f"## Anhang: {name}\n\n{text.strip()}")
    return "\n\n".join(p for p in parts if p), subject, problems
