"""The handover folder (Übergabemappe) as Markdown and as PDF (fpdf2, a real PDF library:
text is text, searchable and copyable, with an outline entry per task).

Only released notes go into the folder: a successor reads what a second person
checked, with author, approver and release date beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.model import NoteVersion, Task

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
# What the PDF's built-in fonts (Latin-1) cannot draw, where no Unicode font is installed
_LATIN1 = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-",
                         "›": ">", "‹": "<", "…": "...", "•": "-", "€": "EUR", "→": "->", "\u00a0": " "})


def _title(folder: dict) -> str:
    if folder.get("person"):
        return f"Übergabemappe: {folder.get('person_display') or folder['person']}"
    return f"Übergabemappe: Organisationseinheit {folder['unit']}"


def _facts(task: Task, note: NoteVersion | None, departs: str | None) -> list[str]:
    facts = [f"Organisationseinheit: {task.unit or '–'}", f"Sammlung: {task.collection}"]
    if task.leika:
        facts.append(f"LeiKa-Schlüssel: {task.leika}")
    facts.append(f"Verantwortlich: {task.owner or '–'}" + (f" (scheidet aus am {departs})" if departs else ""))
    facts.append(f"Vertretung: {', '.join(task.deputies) if task.deputies else 'keine benannt'}")
    if task.frequency or task.criticality:
        facts.append(f"Häufigkeit: {task.frequency or '–'} · Kritikalität: {task.criticality or '–'}")
    if task.legal_basis:
        facts.append(f"Rechtsgrundlage: {task.legal_basis}")
    facts.append(f"Wiedervorlage: {task.review_due or '–'}")
    if note is not None:
        facts.append(f"Notiz: Fassung {note.version}, geschrieben von {note.author}, freigegeben von "
                     f"{note.reviewer} am {(note.reviewed_at or '')[:10]}")
    else:
        facts.append("Notiz: noch keine freigegebene Fassung")
    return facts


def handover_markdown(folder: dict) -> str:
    lines = [f"# {_title(folder)}", "", f"Stand: {folder['today']} · {len(folder['entries'])} Aufgaben", ""]
    if folder.get("departs"):
        lines += [f"Scheidet aus am {folder['departs']}.", ""]
    for entry in folder["entries"]:
        task, note = entry["task"], entry["note"]
        lines += [f"## {task.name}", ""]
        lines += [f"- {fact}" for fact in _facts(task, note, entry["owner_departs"])]
        if entry["documents"]:
            lines.append("- Verknüpfte Dokumente: " + "; ".join(d.title for d in entry["documents"]))
        lines.append("")
        if note is not None:
            for _, heading, text in note.filled():
                lines += [f"### {heading}", "", re.sub(r"^(\s{0,3})#{1,6}\s", r"\1#### ", text, flags=re.M), ""]
    return "\n".join(lines).rstrip() + "\n"


def _font(pdf) -> tuple[str, bool]:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu", True
    return "Helvetica", False


def handover_pdf(folder: dict) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(_title(folder))
    pdf.set_author("Amtswissen")
    pdf.set_lang("de")
    family, unicode_font = _font(pdf)

    def text(value: str) -> str:
        return value if unicode_font else value.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def paragraph(value: str, size: float = 10, style: str = "", space: float = 1.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, size * 0.5, text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(space)

    pdf.add_page()
    paragraph(_title(folder), 18, "B", 3)
    paragraph(f"Stand: {folder['today']} · {len(folder['entries'])} Aufgaben"
              + (f" · scheidet aus am {folder['departs']}" if folder.get("departs") else ""), 10, "", 4)
    for entry in folder["entries"]:
        task, note = entry["task"], entry["note"]
        if pdf.get_y() > 230:
            pdf.add_page()
        pdf.start_section(text(task.name))
        paragraph(task.name, 14, "B", 2)
        for fact in _facts(task, note, entry["owner_departs"]):
            paragraph("• " + fact if unicode_font else "- " + fact, 9, "", 0.5)
        if entry["documents"]:
            paragraph("Verknüpfte Dokumente: " + "; ".join(d.title for d in entry["documents"]), 9, "", 0.5)
        pdf.ln(2)
        if note is not None:
            for _, heading, body in note.filled():
                paragraph(heading, 11, "B", 1)
                paragraph(_plain(body), 10, "", 2.5)
    return bytes(pdf.output())


def _plain(markdown: str) -> str:
    """Markdown as plain lines for the PDF: list marks kept, emphasis marks dropped."""
    out = []
    for line in markdown.splitlines():
        line = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", line)
        line = re.sub(r"^\s{0,3}#{1,6}\s+", "", line)
        line = re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", line)
        out.append(line)
    return "\n".join(out).strip()
