"""Pages for users and tenant administrators: my account and deputies (/konto), a tenant's
users, groups, collections, grants, deputies and tokens (/verwaltung/mandant/…), and the
audit log with its CSV export. Every form calls the same store functions as the CLI."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from access.model import COLLECTION_ROLES, ROLE_LABELS, TENANT_ROLES, VISIBILITIES, VISIBILITY_LABELS, Rights
from access.passwords import WeakPassword
from access.store import AccessError
from service.auth import Denied
from service.deps import RightsDep, SearcherDep, client_address
from service.officer import check_form, csrf_of, signed_in
from service.templating import templates

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=500)]


def _admin_of(rights: Rights, tenant: str) -> None:
    if tenant not in rights.admin_of:
        raise Denied(403, "Nur für Administratoren dieses Mandanten.")


def _back(url: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?{urlencode({'meldung': message})}", status_code=303)


def _own_user(store, name: str, tenant: str) -> None:
    user = store.user(name)
    if user is None or user.tenant != tenant:
        raise AccessError(f"Benutzer „{name}“ gibt es in diesem Mandanten nicht.")


def _list(value: str) -> list[str] | None:
    names = [v.strip() for v in value.split(",") if v.strip()]
    return names or None


# --- my account ----------------------------------------------------------------------------
@router.get("/konto", response_class=HTMLResponse)
def account(request: Request, rights: RightsDep, meldung: str = ""):
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    store = request.app.state.access.store
    name = rights.principal.name
    deputies = store.deputies(name)
    return templates.TemplateResponse(request, "account.html", {
        "user": store.user(name), "rights": rights, "given": [d for d in deputies if d.grantor == name],
        "held": [d for d in deputies if d.deputy == name], "today": date.today().isoformat(),
        "colleagues": [u for u in store.users(rights.principal.tenant) if u.name != name and u.active],
        "token": csrf_of(request), "meldung": meldung})


@router.post("/konto/vertretung")
def grant_deputy(request: Request, rights: RightsDep, token: Field, vertreter: Field, von: Field, bis: Field,
                 sammlungen: Field = ""):
    """A user names their own deputy: all their rights or chosen collections, for a date range."""
    check_form(request, token)
    access = request.app.state.access
    try:
        access.store.add_deputy(rights.principal.name, vertreter, von, bis, rights.principal.name,
                                _list(sammlungen))
    except AccessError as exc:
        return _back("/konto", str(exc))
    return _back("/konto", f"Vertretung durch {vertreter} eingetragen.")


@router.post("/konto/vertretung/{deputy_id}/beenden")
def end_deputy(request: Request, deputy_id: int, rights: RightsDep, token: Field):
    check_form(request, token)
    store = request.app.state.access.store
    mine = {d.id: d for d in store.deputies(rights.principal.name)}
    if deputy_id not in mine:
        raise Denied(404, "Vertretung nicht gefunden.")
    store.revoke_deputy(deputy_id, rights.principal.name)
    return _back("/konto", "Vertretung beendet.")


# --- a tenant's administration ---------------------------------------------------------------
@router.get("/verwaltung/mandant/{tenant}", response_class=HTMLResponse)
def tenant_page(request: Request, tenant: str, rights: RightsDep, searcher: SearcherDep, meldung: str = ""):
    return _tenant_page(request, tenant, rights, searcher, meldung)


def _tenant_page(request: Request, tenant: str, rights: Rights, searcher, meldung: str = "",
                 neues_token: str = ""):
    if not signed_in(rights) and rights.principal.kind != "key":
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    _admin_of(rights, tenant)
    access = request.app.state.access
    store = access.store
    with searcher.snapshot() as reader:
        index_collections = reader.collections()
    collections = [c for c in access.resolver.collections(index_collections).values() if c.tenant == tenant]
    return templates.TemplateResponse(request, "tenant.html", {
        "tenant": store.tenant(tenant), "users": store.users(tenant), "units": store.units(tenant),
        "groups": store.groups(tenant), "collections": sorted(collections, key=lambda c: c.name),
        "grants": store.grants(tenant), "deputies": store.deputies(tenant=tenant), "tokens": store.tokens(tenant),
        "tenants": [t.id for t in store.tenants() if t.id != tenant],
        "visibilities": VISIBILITIES, "visibility_labels": VISIBILITY_LABELS, "roles": TENANT_ROLES,
        "collection_roles": COLLECTION_ROLES, "role_labels": ROLE_LABELS, "today": date.today().isoformat(),
        "token": csrf_of(request), "meldung": meldung, "neues_token": neues_token},
        # a new token's secret is in this answer only: never in a URL, never in a cache
        headers={"Cache-Control": "no-store"} if neues_token else None)


@router.post("/verwaltung/mandant/{tenant}")
def tenant_action(request: Request, tenant: str, rights: RightsDep, token: Field, aktion: Field,
                  name: Field = "", anzeige: Field = "", einheit: Field = "", passwort: Field = "",
                  gruppe: Field = "", ldap_gruppe: Field = "", sichtbarkeit: Field = "", art: Field = "user",
                  rolle: Field = "", sammlung: Field = "", mandant: Field = "", von: Field = "", bis: Field = "",
                  vertreter: Field = "", sammlungen: Field = "", ablauf: Field = "", nummer: Field = ""):
    """One form action of the tenant page; errors come back as a message, nothing half-done."""
    check_form(request, token)
    _admin_of(rights, tenant)
    store = request.app.state.access.store
    by = rights.principal.name
    url = f"/verwaltung/mandant/{tenant}"
    try:
        if aktion == "benutzer":
            store.add_user(tenant, name, by, display=anzeige, unit=einheit or None, password=passwort or None)
            message = f"Benutzer {name} angelegt."
        elif aktion == "passwort":
            _own_user(store, name, tenant)
            store.set_password(name, passwort, by)
            message = f"Passwort von {name} gesetzt."
        elif aktion == "sperren":
            _own_user(store, name, tenant)
            store.update_user(name, by, active=False)
            message = f"{name} gesperrt."
        elif aktion == "einheit":
            store.add_unit(tenant, name, anzeige, by)
            message = f"Organisationseinheit {name} angelegt."
        elif aktion == "gruppe":
            store.add_group(tenant, name, by, ldap_gruppe or None)
            message = f"Gruppe {name} angelegt."
        elif aktion == "mitglied":
            store.add_member(tenant, gruppe, name, by)
            message = f"{name} ist Mitglied von {gruppe}."
        elif aktion == "sammlung":
            with request.app.state.searcher.snapshot() as reader:
                in_index = name in reader.collections()
            default = request.app.state.settings.default_tenant
            if store.collection(name) is None and tenant != default:
                if in_index:  # a collection nobody registered belongs to the default tenant
                    raise AccessError(f"Die Sammlung „{name}“ gehört dem Mandanten „{default}“.")
                if not name.startswith(f"{tenant}-"):
                    # each tenant's new names in its own namespace: no tenant takes a name that
                    # the data centre's set-up script means for another (README)
                    raise AccessError(f"Neue Sammlungen dieses Mandanten beginnen mit „{tenant}-“.")
            store.set_collection(name, tenant, sichtbarkeit, by)
            message = f"Sammlung {name}: {VISIBILITY_LABELS.get(sichtbarkeit, sichtbarkeit)}."
        elif aktion == "teilen":
            store.share(sammlung, mandant, by, owner=tenant)
            message = f"Sammlung {sammlung} mit {mandant} geteilt."
        elif aktion == "recht":
            store.grant(tenant, art, name, rolle, sammlung or None, by)
            message = f"Recht für {name} erteilt."
        elif aktion == "recht-entziehen":
            store.revoke_grant(tenant, int(nummer or 0), by)
            message = "Recht entzogen."
        elif aktion == "vertretung":
            grantor = store.user(name)
            if grantor is None or grantor.tenant != tenant:
                raise AccessError(f"Benutzer „{name}“ gibt es in diesem Mandanten nicht.")
            store.add_deputy(name, vertreter, von, bis, by, _list(sammlungen))
            message = f"Vertretung {name} → {vertreter} eingetragen."
        elif aktion == "vertretung-beenden":
            if int(nummer or 0) not in {d.id for d in store.deputies(tenant=tenant)}:
                raise AccessError("Vertretung nicht gefunden.")
            store.revoke_deputy(int(nummer), by)
            message = "Vertretung beendet."
        elif aktion == "token":
            created, secret = store.add_token(tenant, name, rolle, by, _list(sammlungen), ablauf or None)
            return _tenant_page(request, tenant, rights, request.app.state.searcher, f"Token {created.id} erstellt.",
                                secret)
        elif aktion == "token-widerrufen":
            store.revoke_token(tenant, nummer, by)
            message = "Token widerrufen."
        else:
            raise AccessError("Unbekannte Aktion.")
    except (AccessError, WeakPassword, ValueError) as exc:
        return _back(url, str(exc))
    return _back(url, message)


# --- audit log -----------------------------------------------------------------------------
@router.get("/verwaltung/protokoll/{tenant}", response_class=HTMLResponse)
def audit_page(request: Request, tenant: str, rights: RightsDep, vor: int | None = None):
    _admin_of(rights, tenant)
    entries = request.app.state.access.store.audit_log(tenant, 200, vor)
    return templates.TemplateResponse(request, "audit.html", {"tenant": tenant, "entries": entries})


@router.get("/verwaltung/protokoll/{tenant}/export.csv")
def audit_csv(request: Request, tenant: str, rights: RightsDep) -> Response:
    """The whole log of the tenant, oldest first, as CSV (semicolons, for German spreadsheets)."""
    _admin_of(rights, tenant)
    store = request.app.state.access.store
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["nr", "zeit", "wer", "aktion", "ziel", "angaben", "adresse"])
    entries, before = [], None
    while True:
        page = store.audit_log(tenant, 5000, before)
        if not page:
            break
        entries += page
        before = page[-1].id
    for e in reversed(entries):
        # a cell starting with = + - @ would be a formula in a spreadsheet (CSV injection)
        writer.writerow([e.id, e.at] + [("'" + v if v[:1] in "=+-@" else v)
                                        for v in (e.actor, e.action, e.target, e.detail, e.address)])
    store.audit(tenant, rights.principal.name, "protokoll-exportiert", tenant, f"{len(entries)} Einträge",
                client_address(request))
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="protokoll-{tenant}.csv"'})
