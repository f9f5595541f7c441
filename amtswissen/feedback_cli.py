"""`amtswissen rueckmeldungen …` — the documented way to delete feedback and logged
questions (retention, a date, one person, or everything), thin over feedback/store.py."""

from __future__ import annotations

import argparse
import json
import smtplib
import sys
from datetime import date, datetime, timezone
from pathlib import Path


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("rueckmeldungen", parents=[common], help="Rückmeldungen und Fragenprotokoll löschen")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("aufraeumen", parents=[common], help="löschen, was älter als die Aufbewahrungsfrist ist "
                                          "(AMTSWISSEN_FEEDBACK_RETENTION_DAYS, AMTSWISSEN_QUERY_LOG_RETENTION_DAYS)")
    actions.add_parser("pruefen", parents=[common], help="Referenzfragen erneut stellen, wenn sich Index oder "
                                                         "Synonyme geändert haben (für cron)")
    a = actions.add_parser("wiedervorlage", parents=[common], help="tägliche Übersicht der fälligen Prüfungen eines "
                                                                   "Mandanten: als Datei und/oder per E-Mail")
    a.add_argument("--mandant", required=True)
    a.add_argument("--an", metavar="ADRESSEN", help="Empfänger, durch Kommas getrennt (SMTP: AMTSWISSEN_SMTP_*)")
    a.add_argument("--datei", type=Path, help="die Übersicht in diese Datei schreiben")
    a.add_argument("--stichtag", metavar="JJJJ-MM-TT", help="statt heute (zum Nachholen)")
    a.add_argument("--link", default="", help="Adresse der Anwendung für den Link in der Übersicht")
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
    from access.store import AccessError
    from amtswissen.cli import _settings
    from feedback.service import FeedbackService
    from feedback.store import FeedbackStore

    settings = _settings(args)
    access = AccessService.from_settings(settings)
    try:
        store = FeedbackStore(access.store.db)
        if args.action == "pruefen":
            return _check(args, settings, store, access)
        if args.action == "wiedervorlage":
            try:
                return _digest(args, settings, access)
            except AccessError as exc:
                print(f"Fehler: {exc}", file=sys.stderr)
                return 2
            except (OSError, smtplib.SMTPException) as exc:  # server unreachable, recipient refused, file
                print(f"Fehler beim Versand oder Schreiben der Übersicht: {exc}", file=sys.stderr)
                return 2
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
                    print(f"Fehler: „{args.vor}“ ist kein Datum (JJJJ-MM-TT).", file=sys.stderr)
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


def _check(args: argparse.Namespace, settings, store, access) -> int:
    """Ask the reference questions again; print each tenant's state; exit 1 when an answer was lost."""
    from access.model import Principal, Rights
    from amtswissen.cli import _embedder
    from feedback.guard import ReferenceGuard
    from feedback.synonyms import SynonymLists, known_collections
    from search.searcher import Searcher

    searcher = Searcher(settings, _embedder(settings))
    lists = SynonymLists(store.db, known_collections(access.store, settings.default_tenant))
    searcher.parser.synonyms.extra = lists.rules  # as the server asks them
    try:
        guard = ReferenceGuard(store, searcher, settings, lists, access.tenant_of)
        checked = guard.check()
        out = {}
        for tenant in sorted({r["tenant"] for r in store.references()}):
            collections = frozenset(r["collection"] for r in store.references(tenant))
            report = guard.report(Rights(Principal("user", "cli", tenant), collections, frozenset(), collections))
            out[tenant] = {"checked": tenant in checked, "cause": report.cause if report else "",
                           "hit@5": {c: {"before": b, "now": n} for c, (b, n) in report.hit5.items()} if report else {},
                           "lost": [lost.__dict__ for lost in report.lost] if report else []}
    finally:
        searcher.backend.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for tenant, state in out.items():
            print(f"{tenant}: {'geprüft' if state['checked'] else 'unverändert'} – {state['cause']}")
            for c, h in state["hit@5"].items():
                print(f"  {c}: Hit@5 {h['before'] if h['before'] is not None else '–'} → {h['now']:.2f}")
            for lost in state["lost"]:
                print(f"  verloren: „{lost['question']}“ (erwartet {lost['expected']})")
    return 1 if any(state["lost"] for state in out.values()) else 0


def _digest(args: argparse.Namespace, settings, access) -> int:
    """One tenant's digest, as every knowledge officer of it would see the list."""
    from access.model import Principal, Rights
    from feedback.reviews import Reviews
    from knowledge.service import Knowledge
    from knowledge.store import KnowledgeStore

    if args.mandant not in {t.id for t in access.store.tenants()}:
        print(f"Fehler: Mandant „{args.mandant}“ gibt es nicht.", file=sys.stderr)
        return 2
    try:
        today = date.fromisoformat(args.stichtag) if args.stichtag else date.today()
    except ValueError:
        print(f"Fehler: „{args.stichtag}“ ist kein Datum (JJJJ-MM-TT).", file=sys.stderr)
        return 2
    backend = settings.backend()
    try:
        with backend.snapshot() as reader:  # the index's collections too: unregistered ones are the default tenant's
            names = set(reader.collections()) | {c.name for c in access.store.collections()}
        collections = frozenset(name for name in names if access.tenant_of(name) == args.mandant)
        rights = Rights(Principal("user", "cli", args.mandant), collections, frozenset(), collections)
        knowledge = Knowledge(KnowledgeStore(access.store.db), access, backend, None, settings)
        reviews = Reviews(access, backend, knowledge, settings)
        subject, text, count = reviews.digest(rights, args.mandant, today, args.link.rstrip("/"))
        if args.datei:
            args.datei.write_text(subject + "\n\n" + text, encoding="utf-8")
        sent = False
        if args.an and count:
            reviews.send(subject, text, [a.strip() for a in args.an.split(",") if a.strip()])
            sent = True
    finally:
        backend.close()
    if args.json:
        print(json.dumps({"items": count, "subject": subject, "sent": sent}, ensure_ascii=False))
    else:
        print(subject + (" – versandt" if sent else ""))
        if not args.datei:
            print(text)
    return 0
