"""`amtswissen rueckmeldungen …` — the documented way to delete feedback and logged
questions (retention, a date, one person, or everything), thin over feedback/store.py."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, timezone


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("rueckmeldungen", parents=[common], help="Rückmeldungen und Fragenprotokoll löschen")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("aufraeumen", parents=[common], help="löschen, was älter als die Aufbewahrungsfrist ist "
                                          "(AMTSWISSEN_FEEDBACK_RETENTION_DAYS, AMTSWISSEN_QUERY_LOG_RETENTION_DAYS)")
    a = actions.add_parser("loeschen", parents=[common], help="Rückmeldungen und protokollierte Fragen löschen")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--vor", metavar="JJJJ-MM-TT", help="alles vor diesem Tag (UTC)")
    what.add_argument("--person", metavar="BENUTZER", help="alles, was dieser Person zugeordnet ist")
    what.add_argument("--alle", action="store_true", help="alles")
    for action in actions.choices.values():
        action.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_feedback)


def cmd_feedback(args: argparse.Namespace) -> int:
    from access.service import AccessService
    from amtswissen.cli import _settings
    from feedback.service import FeedbackService
    from feedback.store import FeedbackStore

    settings = _settings(args)
    access = AccessService.from_settings(settings)
    try:
        store = FeedbackStore(access.store.db)
        if args.action == "aufraeumen":
            counts = FeedbackService(store, access, None, None, settings).purge()
        elif args.person:
            counts = store.delete_user(args.person)
        else:
            if args.alle:
                before = "9999"
            else:
                try:
                    day = date.fromisoformat(args.vor)
                except ValueError:
                    print(f"Fehler: „{args.vor}“ ist kein Datum (JJJJ-MM-TT).")
                    return 2
                before = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).isoformat(timespec="seconds")
            counts = store.delete_before(before, before)
    finally:
        access.close()
    if args.json:
        print(json.dumps({"feedback": counts[0], "queries": counts[1]}))
    else:
        print(f"gelöscht: {counts[0]} Rückmeldung(en), {counts[1]} protokollierte Frage(n)")
    return 0
