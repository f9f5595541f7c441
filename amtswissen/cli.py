"""`amtswissen` — a thin command line over the same functions the API calls."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path

from amtswissen import admin_cli, feedback_cli, knowledge_cli
from amtswissen.settings import Settings

MODES = ("hybrid", "dense", "lexical")  # as search.searcher.MODES, without importing torch for --help


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "index", None):
        overrides["index"] = Path(args.index)
    return Settings(**overrides)


def _embedder(settings: Settings):
    from models.embedder import ModelNotFoundError

    try:
        return settings.embedder()
    except ModelNotFoundError as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest.names import InvalidName, check_collection
    from ingest import writes
    from ingest.pipeline import IngestError
    from index.base import BackendUnavailable, IndexFormatError, ModelMismatch

    settings = _settings(args)
    try:
        backend = settings.backend()
    except IndexFormatError:
        raise
    except (OSError, sqlite3.Error, BackendUnavailable) as exc:
        print(f"Fehler: {_where(settings)} ist nicht beschreibbar ({exc})", file=sys.stderr)
        return 2
    embedder = _embedder(settings)
    try:
        report = writes.sync_sources(backend, embedder, [Path(s) for s in args.sources],
                                     check_collection(args.collection or settings.default_collection),
                                     f"cli:{getpass.getuser()}", settings.chunk_sizes(), settings.ingest_limits(),
                                     progress=None if not args.json else False, apply_every=settings.apply_every)
    except (IngestError, InvalidName, ModelMismatch) as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"Fehler: {_where(settings)} ist nicht beschreibbar ({exc})", file=sys.stderr)
        return 2
    finally:
        backend.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(
            f"Neu: {report.added}, aktualisiert: {report.updated}, unverändert: {report.unchanged}, "
            f"entfernt: {report.removed}, fehlgeschlagen: {len(report.failed)}, "
            f"eingebettete Abschnitte: {report.chunks}, Dauer: {report.seconds:.1f} s"
        )
        for f in report.failed:
            print(f"  ✗ {f.source}: {f.reason}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Remove documents and erase their text and originals; --history also erases the version records."""
    from ingest import writes

    settings = _settings(args)
    if not _has_index(settings):
        print(f"Fehler: kein Index in {settings.index}", file=sys.stderr)
        return 2
    embedder = _embedder(settings)
    backend = settings.backend()
    status = 0
    for doc_id in args.ids:
        try:
            try:
                writes.remove(backend, embedder, doc_id, f"cli:{getpass.getuser()}")
                print(f"{doc_id}: entfernt (Text, Vektoren und Originaldateien gelöscht)")
            except writes.DocumentNotFound:
                if not args.history:
                    raise
            if args.history:
                erased = writes.purge_history(backend, doc_id)
                print(f"{doc_id}: Versionsgeschichte gelöscht ({erased} Einträge)")
        except writes.DocumentNotFound:
            print(f"Fehler: {doc_id}: kein solches Dokument", file=sys.stderr)
            status = 1
    backend.close()
    return status


def _where(settings: Settings) -> str:
    return "Der Index in PostgreSQL" if settings.database_url else f"Index {settings.index}"


def _has_index(settings: Settings) -> bool:
    """A database is an index once migrated (that happens when it is opened); a folder needs its file."""
    return bool(settings.database_url) or (settings.index / "amtswissen.sqlite").exists()


def _searcher(settings: Settings):
    from search.searcher import Searcher

    if not _has_index(settings):
        print(f"Fehler: kein Index in {settings.index} – zuerst `amtswissen ingest` ausführen", file=sys.stderr)
        raise SystemExit(2)
    searcher = Searcher(settings, _embedder(settings))
    officer_synonyms(settings, searcher)
    return searcher


def officer_synonyms(settings: Settings, searcher) -> None:
    """The synonym lists knowledge officers keep in the app apply here too (feedback/synonyms.py);
    an index without access tables has none, and none are created for asking."""
    from access.db import Database
    from access.store import AccessStore
    from feedback.synonyms import SynonymLists, known_collections

    path = Path(settings.index) / "zugriff.sqlite3"
    if not settings.database_url and not path.exists():
        return
    db = Database(url=settings.database_url) if settings.database_url else Database(sqlite_path=path)
    lists = SynonymLists(db, known_collections(AccessStore(db), settings.default_tenant))
    searcher.parser.synonyms.extra = lists.rules


def cmd_search(args: argparse.Namespace) -> int:
    if not args.question.strip() or len(args.question) > 1000 or not 1 <= args.k <= 100:
        print("Fehler: Frage leer/zu lang (max. 1000 Zeichen) oder --k außerhalb 1..100", file=sys.stderr)
        return 2
    settings = _settings(args)
    searcher = _searcher(settings)
    readable = None  # the command line reads the whole index, unless asked to see as someone
    if args.as_user:
        from access.model import Principal
        from access.service import AccessService

        access = AccessService.from_settings(settings)
        user = access.store.user(args.as_user)
        if user is None:
            print(f"Fehler: Benutzer „{args.as_user}“ gibt es nicht.", file=sys.stderr)
            return 2
        with searcher.snapshot() as reader:
            readable = access.rights(Principal("user", user.name, user.tenant), reader.collections()).read
        access.close()
    response = searcher.search(args.question, args.k, args.mode, readable=readable)
    if args.json:
        print(response.model_dump_json())
        return 0
    if not response.results and not response.notes:
        print("Keine Treffer.")
    if response.answer:
        a = response.answer
        page = f", Seite {a.page}" if a.page else ""
        where = ", ".join(x for x in (a.document.title, a.section) if x)
        print(f"Antwort aus der Quelle: „{' '.join(a.text.split())}“\n  ({where}{page}; {a.notice})\n")
    if response.notes:
        print("Verfahrenshinweise:")
        for r in response.notes:
            print(f"  {r.rank}. [{r.score:.3f}] {r.section}\n     {' '.join((r.highlight or r.text[:200]).split())}")
        print("Dokumente:")
    for r in response.results:
        where = " > ".join(x for x in (r.document.title, r.section) if x)
        page = f", Seite {r.page}" if r.page else ""
        print(f"{r.rank}. [{r.score:.3f}] {where}{page}\n   {' '.join((r.highlight or r.text[:200]).split())}\n"
              f"   {r.document.source}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from search.evaluate import evaluate, load_questions

    try:
        questions = load_questions(Path(args.questions))
    except (OSError, ValueError) as exc:
        print(f"Fehler: Fragendatei nicht lesbar ({exc})", file=sys.stderr)
        return 2
    searcher = _searcher(_settings(args))
    report = evaluate(questions, lambda q, k: searcher.search(q, k, args.mode), k=args.k)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    print(f"Fragen: {report.n} (Modus: {args.mode or searcher.settings.search_mode})")
    print(f"Hit@1 {report.hit_at[1]:.3f}  Hit@5 {report.hit_at[5]:.3f}  Hit@10 {report.hit_at[10]:.3f}  MRR@10 {report.mrr_at_10:.3f}")
    print(f"Antwortsatz: Markierung enthält die Antwort {report.highlight_precision:.3f} (Fragen mit Treffer), "
          f"answer@1 {report.answer_at_1:.3f}")
    print(f"Antwortkasten: gezeigt bei {report.answer_box_shown:.3f} der Fragen, davon richtig {report.answer_box_right:.3f}")
    for key, groups in report.by_group.items():
        print(f"\nnach {key}:")
        for value, m in groups.items():
            print(f"  {value:12} n={m['n']:3}  Hit@1 {m['hit@1']:.3f}  Hit@5 {m['hit@5']:.3f}  MRR@10 {m['mrr@10']:.3f}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the schema of the configured index (PostgreSQL: index/postgres.py MIGRATIONS)."""
    from index.base import BackendUnavailable

    settings = _settings(args)
    try:
        backend = settings.backend()  # opening migrates, under a lock, once
    except BackendUnavailable as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 2
    print(f"Schema aktuell: {backend.describe()}")
    backend.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.api import create_app

    settings = _settings(args)
    host = args.host or settings.host
    port = args.port or settings.port
    # Forwarded headers only from configured proxies: uvicorn's default trusts 127.0.0.1, so any
    # local client could pick the address its failed key attempts count against.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                proxy_headers=False)  # forwarding is read by service/auth.py
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amtswissen", description="Semantische Suche für die Verwaltung")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", help="Index-Ordner (sonst $AMTSWISSEN_INDEX, sonst data/index)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="Dateien und Ordner in den Index übernehmen")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--collection", help="Sammlung (Standard: default)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("delete", parents=[common], help="Dokumente entfernen und ihre Daten löschen")
    p.add_argument("ids", nargs="+", metavar="DOC_ID", help="Dokument-ID (siehe /api/documents)")
    p.add_argument("--history", action="store_true", help="auch die Versionsgeschichte löschen")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("search", parents=[common], help="Eine Frage stellen")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--mode", choices=MODES, help="hybrid (Standard), dense oder lexical")
    p.add_argument("--as", dest="as_user", metavar="BENUTZER", help="nur was dieser Benutzer lesen darf")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("serve", parents=[common], help="Web-Oberfläche und API starten")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=[common], help="Trefferquote auf einer Fragendatei messen")
    p.add_argument("questions", metavar="QUESTIONS.jsonl")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--mode", choices=MODES, help="hybrid (Standard), dense oder lexical")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("migrate", parents=[common], help="Schema des Index anlegen oder aktualisieren")
    p.set_defaults(func=cmd_migrate)

    admin_cli.add_parsers(sub, common)
    knowledge_cli.add_parsers(sub, common)
    feedback_cli.add_parsers(sub, common)
    return parser


def cmd_admin(args: argparse.Namespace) -> int:
    from access.ldap import LdapUnavailable
    from access.passwords import WeakPassword
    from access.service import AccessService
    from access.store import AccessError

    access = AccessService.from_settings(_settings(args))
    try:
        return admin_cli.run(args, access)
    except (AccessError, WeakPassword, LdapUnavailable) as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 2
    finally:
        access.close()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("AMTSWISSEN_LOG", "WARNING"))
    # pypdf reports every repaired cross-reference table; the ingest report says what matters.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    from index.base import BackendUnavailable, IndexFormatError

    try:
        return cmd_admin(args) if getattr(args, "admin", False) else args.func(args)
    except (IndexFormatError, BackendUnavailable) as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
