"""`amtswissen wissen …` — knowledge capture from the command line, thin over the same
Knowledge functions the API and the pages call. Every command acts as a named user
(`--als`) with that user's rights today, so the four-eyes rule holds here too."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("wissen", parents=[common], help="Aufgaben und Verfahrenshinweise (Wissenssicherung)")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("import", help="Aufgabenliste (CSV) und Notizen (Markdown) einlesen")
    a.add_argument("--als", required=True, metavar="BENUTZER", help="wer einliest (Wissensmanager)")
    a.add_argument("--katalog", type=Path, help="CSV-Datei der Aufgaben")
    a.add_argument("--notizen", type=Path, help="Ordner oder Datei mit Notizen (*.md)")
    a.add_argument("--sammlung", help="Sammlung für Zeilen ohne eigene")
    a.add_argument("--freigabe-als", metavar="BENUTZER",
                   help="die eingereichten Notizen gleich freigeben, als diese (zweite) Person mit Freigaberecht")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("liste", help="Aufgaben mit Stand der Notiz")
    a.add_argument("--als", required=True, metavar="BENUTZER")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("uebergabe", help="Übergabemappe einer Person oder Einheit als PDF oder Markdown")
    a.add_argument("--als", required=True, metavar="BENUTZER")
    a.add_argument("--person")
    a.add_argument("--einheit")
    a.add_argument("--format", choices=("pdf", "md"), default="pdf")
    a.add_argument("--ausgabe", type=Path, required=True, help="Zieldatei")
    a = actions.add_parser("abgleich", help="Suchindex mit den freigegebenen Fassungen abgleichen")
    a = actions.add_parser("demo", help="Demo-Bürgerbüro aus data/wissen einrichten (Personen, Rechte, Aufgaben, "
                                        "freigegebene Notizen)")
    a.add_argument("--password-stdin", action="store_true", help="ein Passwort für alle Demo-Personen (erste Zeile)")
    a.add_argument("--oeffentlich", action="store_true",
                   help="die Demo-Sammlung für alle lesbar, auch ohne Anmeldung (für make run)")
    p.set_defaults(func=cmd_knowledge)


def _rights(access, backend, name: str):
    from access.model import Principal
    from access.store import AccessError

    user = access.store.user(name)
    if user is None or not user.active:
        raise AccessError(f"Benutzer „{name}“ gibt es nicht oder er ist gesperrt.")
    with backend.snapshot() as reader:
        collections = reader.collections()
    return access.rights(Principal("user", user.name, user.tenant, "kommandozeile"), collections)


def cmd_knowledge(args: argparse.Namespace) -> int:
    from access.service import AccessService
    from access.store import AccessError
    from amtswissen.cli import _embedder, _settings
    from knowledge.service import Knowledge
    from knowledge.store import KnowledgeStore

    settings = _settings(args)
    access = AccessService.from_settings(settings)
    backend = settings.backend()
    try:
        knowledge = Knowledge(KnowledgeStore(access.store.db), access, backend, _embedder(settings), settings)
        return _run(args, knowledge, access, backend)
    except AccessError as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 2
    finally:
        backend.close()
        access.close()


def _run(args, knowledge, access, backend) -> int:
    from knowledge.export import handover_markdown, handover_pdf
    from knowledge.importer import ImportReport, import_catalogue, import_notes

    if args.action == "demo":
        from knowledge.demo import PEOPLE, install_demo

        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        report = install_demo(knowledge, password=password, only_new=True,
                              visibility="oeffentlich" if args.oeffentlich else "mandant")
        print(f"Demo: {report.tasks_added} Aufgaben angelegt, {report.tasks_updated} geändert, {report.released} "
              f"Notizen freigegeben; Personen: {', '.join(PEOPLE)}")
        for problem in report.problems:
            print("  Hinweis: " + problem)
        return 0
    if args.action == "abgleich":
        changed = knowledge.reconcile()
        print(f"{len(changed)} Notizen neu in den Index übernommen" + (f": {', '.join(changed)}" if changed else ""))
        return 0
    rights = _rights(access, backend, args.als)
    if args.action == "import":
        report = ImportReport()
        if args.katalog:
            import_catalogue(knowledge, rights, args.katalog.read_text(encoding="utf-8-sig"), args.sammlung, report)
        if args.notizen:
            files = sorted(args.notizen.glob("*.md")) if args.notizen.is_dir() else [args.notizen]
            approver = _rights(access, backend, args.freigabe_als) if args.freigabe_als else None
            import_notes(knowledge, rights, [(f.name, f.read_text(encoding="utf-8-sig")) for f in files], report,
                         approver)
        if args.json:
            print(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            print(f"{report.tasks_added} Aufgaben angelegt, {report.tasks_updated} geändert, {report.notes} Notizen "
                  f"eingereicht, {report.released} freigegeben")
            for problem in report.problems:
                print("  Hinweis: " + problem)
        return 0 if not report.problems else 1
    if args.action == "liste":
        views = knowledge.views(rights, knowledge.tasks(rights))
        rows = [{"id": v.task.id, "name": v.task.name, "einheit": v.task.unit, "verantwortlich": v.task.owner,
                 "freigegeben": v.released.version if v.released else None} for v in views]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        else:
            for r in rows:
                print(f"{r['id']}\t{r['name']}\t{r['einheit'] or ''}\t{r['verantwortlich'] or ''}\t"
                      f"{'Fassung ' + str(r['freigegeben']) if r['freigegeben'] else 'keine Notiz'}")
        return 0
    folder = knowledge.handover(rights, args.person, args.einheit)
    data = handover_pdf(folder) if args.format == "pdf" else handover_markdown(folder).encode()
    args.ausgabe.write_bytes(data)
    print(f"Übergabemappe mit {len(folder['entries'])} Aufgaben: {args.ausgabe}")
    return 0
