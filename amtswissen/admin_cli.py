"""Administration from the command line: tenants, units, users (local and LDAP), groups,
collections, grants, deputies, tokens and the audit log — thin commands over the same
store functions the admin pages call, so a data centre can script a new municipality."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from dataclasses import asdict

BY = f"cli:{getpass.getuser()}"


def _password(args: argparse.Namespace) -> str | None:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    return None


def _list(value: str | None) -> list[str] | None:
    names = [v.strip() for v in (value or "").split(",") if v.strip()]
    return names or None


def _print(rows: list, as_json: bool) -> None:
    if as_json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return
    for r in rows:
        print("\t".join("" if v is None else ",".join(v) if isinstance(v, tuple) else str(v)
                        for v in asdict(r).values()))


def run(args: argparse.Namespace, access) -> int:
    """One administration command; AccessError goes to the caller (exit 2 with its message)."""
    store = access.store
    what, action = args.what, getattr(args, "action", None)
    as_json = getattr(args, "json", False)
    if what == "tenant":
        if action == "add":
            store.add_tenant(args.id, args.name or args.id, BY)
            print(f"Mandant {args.id} angelegt.")
        else:
            _print(store.tenants(), as_json)
    elif what == "unit":
        if action == "add":
            store.add_unit(args.tenant, args.name, args.title or args.name, BY)
            print(f"Organisationseinheit {args.name} angelegt.")
        else:
            _print(store.units(args.tenant), as_json)
    elif what == "user":
        if action == "add":
            store.add_user(args.tenant, args.name, BY, display=args.display or "", unit=args.unit,
                           password=_password(args), source="local")
            print(f"Benutzer {args.name} angelegt.")
        elif action == "import-ldap":
            user = access.import_directory_user(args.name, BY)
            print(f"Benutzer {user.name} aus dem Verzeichnis übernommen ({user.display}).")
        elif action == "password":
            password = _password(args) or getpass.getpass("Neues Passwort: ")
            store.set_password(args.name, password, BY)
            print(f"Passwort von {args.name} gesetzt.")
        elif action in ("disable", "enable"):
            store.update_user(args.name, BY, active=action == "enable")
            print(f"{args.name} {'freigegeben' if action == 'enable' else 'gesperrt'}.")
        else:
            _print(store.users(args.tenant), as_json)
    elif what == "group":
        if action == "add":
            store.add_group(args.tenant, args.name, BY, args.ldap_group)
            print(f"Gruppe {args.name} angelegt.")
        elif action == "member":
            store.add_member(args.tenant, args.group, args.user, BY)
            print(f"{args.user} ist Mitglied von {args.group}.")
        else:
            _print(store.groups(args.tenant), as_json)
    elif what == "collection":
        if action == "set":
            store.set_collection(args.name, args.tenant, args.visibility, BY)
            print(f"Sammlung {args.name}: {args.visibility} (Mandant {args.tenant}).")
        elif action == "share":
            store.share(args.name, args.with_tenant, BY, shared=not args.stop)
            print(f"Sammlung {args.name} {'nicht mehr ' if args.stop else ''}geteilt mit {args.with_tenant}.")
        else:
            _print(store.collections(args.tenant), as_json)
    elif what == "grant":
        if action == "revoke":
            store.revoke_grant(args.tenant, args.id, BY)
            print(f"Recht {args.id} entzogen.")
        elif action == "list":
            _print(store.grants(args.tenant), as_json)
        else:
            kind, name = next((k, getattr(args, k)) for k in ("user", "group", "unit") if getattr(args, k))
            grant = store.grant(args.tenant, kind, name, args.role, args.collection, BY)
            print(f"Recht {grant.id}: {kind} {name} ist {args.role} auf {args.collection or 'dem ganzen Mandanten'}.")
    elif what == "deputy":
        if action == "add":
            d = store.add_deputy(args.grantor, args.deputy, args.start, args.end, BY, _list(args.collections))
            print(f"Vertretung {d.id}: {d.deputy} vertritt {d.grantor} vom {d.starts} bis {d.ends}.")
        elif action == "end":
            store.revoke_deputy(args.id, BY)
            print(f"Vertretung {args.id} beendet.")
        else:
            _print(store.deputies(args.user), as_json)
    elif what == "token":
        if action == "add":
            token, secret = store.add_token(args.tenant, args.name, args.role, BY, _list(args.collections),
                                            args.expires)
            print(json.dumps({"id": token.id, "token": secret}) if as_json else secret)
        elif action == "revoke":
            store.revoke_token(args.tenant, args.id, BY)
            print(f"Token {args.id} widerrufen.")
        else:
            _print(store.tokens(args.tenant), as_json)
    elif what == "audit":
        entries = list(reversed(store.audit_log(args.tenant, args.limit)))
        writer = csv.writer(sys.stdout, delimiter=";")
        writer.writerow(["nr", "zeit", "wer", "aktion", "ziel", "angaben", "adresse"])
        for e in entries:
            writer.writerow([e.id, e.at, e.actor, e.action, e.target, e.detail, e.address])
    return 0


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    def group(name: str, help_text: str):
        p = sub.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(admin=True, what=name)
        return p.add_subparsers(dest="action", required=True)

    def cmd(actions, name: str, help_text: str, *arguments: tuple, listing: bool = False):
        p = actions.add_parser(name, help=help_text)
        for names, options in arguments:
            p.add_argument(*names, **options)
        if listing or name == "list":
            p.add_argument("--json", action="store_true")
        return p

    T = (("tenant",), {"help": "Kennung des Mandanten"})
    a = group("tenant", "Mandanten (Kommunen) anlegen und auflisten")
    cmd(a, "add", "Mandanten anlegen", (("id",), {}), (("--name",), {"help": "Anzeigename"}))
    cmd(a, "list", "Mandanten auflisten")
    a = group("unit", "Organisationseinheiten (Ämter, Fachbereiche)")
    cmd(a, "add", "Einheit anlegen", T, (("name",), {}), (("--title",), {}))
    cmd(a, "list", "Einheiten auflisten", T)
    a = group("user", "Benutzer: lokal (Passwort) oder aus LDAP")
    cmd(a, "add", "lokalen Benutzer anlegen", T, (("name",), {}), (("--display",), {}), (("--unit",), {}),
        (("--password-stdin",), {"action": "store_true", "help": "Passwort als erste Zeile der Standardeingabe"}))
    cmd(a, "import-ldap", "Benutzer aus dem Verzeichnis übernehmen", (("name",), {}))
    cmd(a, "password", "Passwort setzen", (("name",), {}), (("--password-stdin",), {"action": "store_true"}))
    cmd(a, "disable", "Benutzer sperren (beendet seine Sitzungen)", (("name",), {}))
    cmd(a, "enable", "Benutzer wieder freigeben", (("name",), {}))
    cmd(a, "list", "Benutzer auflisten", (("tenant",), {"nargs": "?"}))
    a = group("group", "Gruppen, auch aus LDAP-Gruppen")
    cmd(a, "add", "Gruppe anlegen", T, (("name",), {}), (("--ldap-group",), {"help": "cn der LDAP-Gruppe"}))
    cmd(a, "member", "Benutzer aufnehmen", T, (("group",), {}), (("user",), {}))
    cmd(a, "list", "Gruppen auflisten", T)
    a = group("collection", "Sammlungen: Mandant, Sichtbarkeit, Teilen")
    cmd(a, "set", "Sammlung eintragen oder Sichtbarkeit ändern", (("name",), {}), (("--tenant",), {"required": True}),
        (("--visibility",), {"required": True, "choices": ["oeffentlich", "mandant", "eingeschraenkt"]}))
    cmd(a, "share", "lesend mit einem anderen Mandanten teilen", (("name",), {}), (("with_tenant",), {}),
        (("--stop",), {"action": "store_true", "help": "Teilen beenden"}))
    cmd(a, "list", "Sammlungen auflisten", (("--tenant",), {}))
    a = group("grant", "Rechte erteilen, auflisten, entziehen")
    p = cmd(a, "add", "Recht erteilen", T, (("role",), {"choices": ["reader", "editor", "approver", "officer", "admin", "operator"]}),
            (("--collection",), {"help": "leer: ganzer Mandant"}))
    who = p.add_mutually_exclusive_group(required=True)
    for k in ("user", "group", "unit"):
        who.add_argument(f"--{k}")
    cmd(a, "list", "Rechte auflisten", T)
    cmd(a, "revoke", "Recht entziehen", T, (("id",), {"type": int}))
    a = group("deputy", "Vertretungen mit Zeitraum")
    cmd(a, "add", "Vertretung eintragen", (("grantor",), {"help": "wer vertreten wird"}),
        (("deputy",), {"help": "wer vertritt"}), (("--start",), {"required": True, "help": "JJJJ-MM-TT"}),
        (("--end",), {"required": True, "help": "JJJJ-MM-TT"}),
        (("--collections",), {"help": "nur diese Sammlungen (Komma); leer: alle Rechte"}))
    cmd(a, "end", "Vertretung beenden", (("id",), {"type": int}))
    cmd(a, "list", "Vertretungen eines Benutzers", (("user",), {}))
    a = group("token", "Maschinen-Tokens: gehasht, befristet, widerrufbar")
    cmd(a, "add", "Token erstellen (wird nur einmal ausgegeben)", T, (("name",), {}),
        (("--role",), {"required": True, "choices": ["reader", "editor", "approver", "officer"]}), (("--collections",), {}),
        (("--expires",), {"help": "JJJJ-MM-TT"}), listing=True)
    cmd(a, "list", "Tokens auflisten", T)
    cmd(a, "revoke", "Token widerrufen", T, (("id",), {}))
    p = sub.add_parser("audit", parents=[common], help="Protokoll eines Mandanten als CSV")
    p.set_defaults(admin=True, what="audit")
    p.add_argument("tenant")
    p.add_argument("--limit", type=int, default=100_000)
