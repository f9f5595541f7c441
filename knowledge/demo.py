"""The demo Bürgerbüro of `data/wissen/`: units, people, rights, the task catalogue and
six released notes — what `amtswissen wissen demo` sets up, and what the quality
measurement (bench/knowledge_quality.py) and the tests start from.

People: olga (knowledge officer), petra (approver), paula and bernd (Bürgerbüro,
authors), otto (Ordnungsamt, author), viktor (deputy in the Bürgerbüro), rita (reads).
"""

from __future__ import annotations

from pathlib import Path

from access.model import Principal
from access.store import AccessError
from knowledge.importer import ImportReport, import_catalogue, import_notes

DEMO = Path(__file__).resolve().parent.parent / "data" / "wissen"
COLLECTION = "buergerbuero"
UNITS = {"buergerbuero": "Bürgerbüro", "ordnungsamt": "Ordnungsamt"}
PEOPLE = {  # name → (display, unit, role on the collection)
    "olga": ("Olga Wissensmanagerin", "buergerbuero", "officer"),
    "petra": ("Petra Sachgebietsleitung", "buergerbuero", "approver"),
    "paula": ("Paula Bürgerbüro", "buergerbuero", "editor"),
    "bernd": ("Bernd Bürgerbüro", "buergerbuero", "editor"),
    "otto": ("Otto Ordnungsamt", "ordnungsamt", "editor"),
    "viktor": ("Viktor Vertretung", "buergerbuero", "editor"),
    "rita": ("Rita Lesend", "buergerbuero", None),
}


def install_demo(knowledge, tenant: str = "standard", visibility: str = "mandant", password: str | None = None,
                 release: bool = True, folder: Path = DEMO, only_new: bool = False) -> ImportReport:
    """Set up the demo (people, rights and units only where missing) and import its tasks
    and notes; `only_new`: leave tasks that exist alone (a second `make run` adds nothing)."""
    store = knowledge.access.store
    by = "demo"
    for name, title in UNITS.items():
        if name not in {u.name for u in store.units(tenant)}:
            store.add_unit(tenant, name, title, by)
    if store.collection(COLLECTION) is None:
        store.set_collection(COLLECTION, tenant, visibility, by)
    for name, (display, unit, role) in PEOPLE.items():
        if store.user(name) is None:
            store.add_user(tenant, name, by, display=display, unit=unit, password=password)
        if role:
            try:
                store.grant(tenant, "user", name, role, COLLECTION, by)
            except AccessError:
                pass  # granted before
    report = ImportReport()
    if only_new and knowledge.store.tasks(tenant, frozenset({COLLECTION})):
        return report
    officer = rights_of(knowledge, "olga")
    import_catalogue(knowledge, officer, (folder / "aufgaben.csv").read_text(encoding="utf-8"), COLLECTION, report)
    notes = [(p.name, p.read_text(encoding="utf-8")) for p in sorted((folder / "notizen").glob("*.md"))]
    import_notes(knowledge, officer, notes, report, rights_of(knowledge, "petra") if release else None)
    return report


def rights_of(knowledge, name: str):
    user = knowledge.access.store.user(name)
    with knowledge.backend.snapshot() as reader:
        collections = reader.collections()
    return knowledge.access.rights(Principal("user", user.name, user.tenant, "demo"), collections)
