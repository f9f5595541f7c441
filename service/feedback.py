"""Feedback and the knowledge officer's queue, on the web: the form under every result (works
without JavaScript), its JSON twin, and the queue page with one action per entry."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from access.store import AccessError
from feedback.model import ACTIONS, REASONS, TARGETS
from feedback.service import FeedbackService
from service import errors
from service.auth import COOKIE, Denied
from service.deps import RightsDep, rate_limited
from service.knowledge import as_http
from service.officer import check_form, csrf_of, signed_in
from service.templating import templates

router = APIRouter()


def get_feedback(request: Request) -> FeedbackService:
    return request.app.state.feedback


FeedbackDep = Annotated[FeedbackService, Depends(get_feedback)]


def _limited(request: Request, rights) -> None:
    """Feedback shares the search's per-caller limit: nobody floods the queue."""
    rate_limited(request, rights, "Zu viele Anfragen. Bitte kurz warten.")


# --- readers: the form under each result, and the API --------------------------------
@router.post("/rueckmeldung", include_in_schema=False)
def give_form(request: Request, rights: RightsDep, feedback: FeedbackDep,
              frage: Annotated[str, Form(max_length=1000)], urteil: Annotated[str, Form(max_length=20)],
              ziel: Annotated[str, Form(max_length=20)] = "treffer",
              abschnitt: Annotated[int | None, Form(ge=1, le=2**62)] = None,
              grund: Annotated[str, Form(max_length=40)] = "", anmerkung: Annotated[str, Form(max_length=2000)] = "",
              sammlung: Annotated[str, Form(max_length=64)] = "", typ: Annotated[str, Form(max_length=20)] = "",
              token: Annotated[str, Form(max_length=200)] = ""):
    """"hilft" / "hilft nicht" from the search page; back to the same results with a thank-you."""
    if signed_in(rights):
        # a signed-in browser's form carries its token (a cross-site form counts as anonymous:
        # the session cookie is SameSite=strict)
        request.app.state.auth.check_form(rights.principal, request.cookies.get(COOKIE), token)
    if urteil not in ("hilft", "hilft-nicht"):
        raise HTTPException(status_code=422, detail="Bitte „hilft“ oder „hilft nicht“ wählen.")
    _limited(request, rights)
    helpful = urteil == "hilft"
    with as_http():  # a reason picked before clicking "hilft" is not a contradiction worth a 422
        feedback.give(rights, frage, helpful, ziel, abschnitt, None if helpful else grund or None, anmerkung)
    query = {"q": frage, "danke": "1"} | ({"sammlung": sammlung} if sammlung else {}) | ({"typ": typ} if typ else {})
    anchor = f"#treffer-{abschnitt}" if abschnitt else "#ergebnisse"
    return RedirectResponse("/?" + urlencode(query) + anchor, status_code=303)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(strict=True)  # "helpful": 0 is no answer to "hilft es?"

    question: str = Field(min_length=1, max_length=1000, description="die Frage, wie sie gestellt wurde")
    helpful: bool = Field(description="true: hilft; false: hilft nicht")
    target: Literal["treffer", "antwort", "suche"] = Field("treffer", description="ein Treffer, der Antwortkasten "
                                                           "oder die Suche als Ganzes (nichts Passendes gefunden)")
    passage_id: int | None = Field(None, ge=1, le=2**62, description="der Abschnitt (passage_id des Treffers)")
    reason: Literal["falsch", "veraltet", "unvollstaendig", "passt-nicht", "nichts-gefunden"] | None = None
    comment: str | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    stored_user: bool = Field(description="ob die Installation speichert, wer die Rückmeldung gab")


@router.post("/api/feedback", response_model=FeedbackOut, status_code=201, tags=["Rückmeldungen"],
             responses=errors.responses(401, 404, 422, 429))
def give_api(request: Request, body: FeedbackIn, rights: RightsDep, feedback: FeedbackDep) -> FeedbackOut:
    """Rückmeldung zu einem Treffer, zum Antwortkasten oder zur Suche: hilft / hilft nicht, mit
    optionalem Grund und Kommentar. Gespeichert werden Frage, Abschnitt, Dokumentversion und Zeit –
    eine Person nur, wenn die Installation es eingeschaltet hat (`AMTSWISSEN_FEEDBACK_STORE_USER`)."""
    _limited(request, rights)
    with as_http():
        number = feedback.give(rights, body.question, body.helpful, body.target, body.passage_id, body.reason,
                               body.comment)
    return FeedbackOut(id=number, stored_user=feedback.who(rights) is not None)


@router.get("/api/warteschlange", tags=["Rückmeldungen"], responses=errors.responses(401, 403))
def queue_api(rights: RightsDep, feedback: FeedbackDep) -> dict:
    """Die Warteschlange des Wissensmanagements: Fragen ohne gutes Ergebnis oder mit „hilft nicht“
    (nach Wortlaut gruppiert) und die Dokumentabschnitte hinter „hilft nicht“, mit Gründen."""
    if not rights.officer:
        raise Denied(403, "Die Warteschlange ist dem Wissensmanagement vorbehalten.")
    queue = feedback.queue(rights)
    return {"questions": [asdict(q) for q in queue.questions],
            "documents": [asdict(d) | {"replaced": d.replaced} for d in queue.documents]}


# --- officers: the queue page ---------------------------------------------------------
def _officer(rights) -> None:
    if not rights.officer:
        raise Denied(403, "Die Warteschlange ist dem Wissensmanagement vorbehalten.")


@router.get("/verwaltung/rueckmeldungen", response_class=HTMLResponse, include_in_schema=False)
def queue_page(request: Request, rights: RightsDep, feedback: FeedbackDep, meldung: str = "", fehler: str = ""):
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    _officer(rights)
    queue = feedback.queue(rights)
    guard = request.app.state.guard
    guard.check()  # cheap when nothing changed since the last check
    return templates.TemplateResponse(
        request, "queue.html",
        {"queue": queue, "guard": guard.report(rights), "history": feedback.history(rights, 20), "reasons": REASONS, "targets": TARGETS,
         "actions_labels": ACTIONS, "collections": sorted(rights.officer), "token": csrf_of(request), "rights": rights,
         "meldung": meldung, "fehler": fehler},
    )


def _back(message: str = "", error: str = "") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("meldung", message), ("fehler", error)) if v})
    return RedirectResponse("/verwaltung/rueckmeldungen" + ("?" + query if query else ""), status_code=303)


Kind = Annotated[Literal["frage", "dokument"], Form()]


@router.post("/verwaltung/rueckmeldungen/verwerfen", include_in_schema=False)
def dismiss(request: Request, rights: RightsDep, feedback: FeedbackDep, art: Kind,
            schluessel: Annotated[str, Form(max_length=1200)], begruendung: Annotated[str, Form(max_length=2000)],
            token: Annotated[str, Form(max_length=200)]):
    check_form(request, token)
    _officer(rights)
    try:
        feedback.dismiss(rights, art, schluessel, begruendung)
    except AccessError as exc:
        return _back(error=str(exc))
    return _back("Eintrag verworfen.")


@router.post("/verwaltung/rueckmeldungen/aufgabe", include_in_schema=False)
def make_task(request: Request, rights: RightsDep, feedback: FeedbackDep, art: Kind,
              schluessel: Annotated[str, Form(max_length=1200)], name: Annotated[str, Form(max_length=200)],
              sammlung: Annotated[str, Form(max_length=64)], token: Annotated[str, Form(max_length=200)]):
    """A task from the entry's question; on to the task, to write the note that answers."""
    check_form(request, token)
    _officer(rights)
    try:
        task = feedback.make_task(rights, art, schluessel, name, sammlung)
    except AccessError as exc:
        return _back(error=str(exc))
    return RedirectResponse(f"/wissen/aufgabe/{task}", status_code=303)


@router.post("/verwaltung/rueckmeldungen/referenz", include_in_schema=False)
def add_reference(request: Request, rights: RightsDep, feedback: FeedbackDep, art: Kind,
                  schluessel: Annotated[str, Form(max_length=1200)], frage: Annotated[str, Form(max_length=1000)],
                  abschnitt: Annotated[int, Form(ge=1, le=2**62)], token: Annotated[str, Form(max_length=200)],
                  antwort: Annotated[str, Form(max_length=300)] = ""):
    check_form(request, token)
    _officer(rights)
    try:
        number = feedback.add_reference(rights, art, schluessel, frage, abschnitt, [antwort] if antwort else [])
    except AccessError as exc:
        return _back(error=str(exc))
    return _back(f"Als Referenzfrage {number} aufgenommen.")


@router.get("/verwaltung/rueckmeldungen/vorschlaege", response_class=HTMLResponse, include_in_schema=False)
def candidates(request: Request, rights: RightsDep, feedback: FeedbackDep, frage: str = "", schluessel: str = "",
               art: str = "frage"):
    """For "Als Referenzfrage aufnehmen": the sections the search finds for the question now,
    over the collections the officer tends; the officer picks the one that should answer."""
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    _officer(rights)
    frage = " ".join(frage.split())[:1000]
    results = request.app.state.searcher.search(frage, 8, readable=rights.officer).results if frage else []
    return templates.TemplateResponse(
        request, "queue_reference.html",
        {"frage": frage, "schluessel": schluessel[:1200], "art": art if art in ("frage", "dokument") else "frage",
         "results": results, "token": csrf_of(request), "rights": rights},
    )



# --- Wiedervorlage ---------------------------------------------------------------------
@router.get("/verwaltung/wiedervorlage", response_class=HTMLResponse, include_in_schema=False)
def reviews_page(request: Request, rights: RightsDep, nach: str = "person", meldung: str = "", fehler: str = ""):
    """Due and overdue documents and notes of the officer's collections, per owner or unit."""
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    _officer(rights)
    items = request.app.state.reviews.due(rights)
    key = "unit" if nach == "einheit" else "owner"
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(getattr(item, key) or "– niemand genannt –", []).append(item)
    return templates.TemplateResponse(
        request, "reviews.html",
        {"groups": dict(sorted(groups.items())), "nach": "einheit" if key == "unit" else "person",
         "overdue": sum(i.overdue for i in items), "total": len(items), "token": csrf_of(request), "rights": rights,
         "days": request.app.state.settings.review_notice_days, "meldung": meldung, "fehler": fehler},
    )


@router.post("/verwaltung/wiedervorlage/geprueft", include_in_schema=False)
def reviewed(request: Request, rights: RightsDep, art: Annotated[Literal["dokument", "aufgabe"], Form()],
             kennung: Annotated[str, Form(max_length=200)], token: Annotated[str, Form(max_length=200)],
             nach: Annotated[str, Form(max_length=20)] = "person"):
    """"Geprüft, unverändert": the review is recorded, the item leaves the list until it is due again."""
    check_form(request, token)
    _officer(rights)
    try:
        nxt = request.app.state.reviews.confirm(rights, art, kennung)
    except AccessError as exc:
        query = {"fehler": str(exc), "nach": nach}
    else:
        query = {"meldung": f"Als geprüft vermerkt; nächste Prüfung am {nxt}.", "nach": nach}
    return RedirectResponse("/verwaltung/wiedervorlage?" + urlencode(query), status_code=303)


# --- overview ---------------------------------------------------------------------------
@router.get("/verwaltung/uebersicht", response_class=HTMLResponse, include_in_schema=False)
def overview_page(request: Request, rights: RightsDep, tage: int = 30):
    """Numbers over time for the officer's collections: charts and the same numbers as a table."""
    from feedback.overview import bar_chart

    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    _officer(rights)
    tage = min(max(tage, 7), 365)
    overview = request.app.state.overview
    overview.record_today(rights)
    days = overview.days(rights, tage)
    labels = [d.day for d in days]
    charts = [
        ("Fragen je Tag", bar_chart("Fragen je Tag", [d.questions for d in days], labels)),
        ("Anteil „hilft“ an den Rückmeldungen", bar_chart("Anteil hilft", [d.helpful_share for d in days], labels,
                                                          share=True)),
        ("Offene Einträge der Warteschlange", bar_chart("Offene Einträge", [d.open_entries for d in days], labels)),
        ("Überfällige Prüfungen", bar_chart("Überfällige Prüfungen", [d.overdue for d in days], labels)),
    ]
    return templates.TemplateResponse(request, "overview.html", {"charts": charts, "days": days, "tage": tage,
                                                                 "rights": rights,
                                                                 "guard": request.app.state.guard.report(rights)})


@router.get("/verwaltung/uebersicht.csv", include_in_schema=False)
def overview_csv(request: Request, rights: RightsDep, tage: int = 90):
    from fastapi.responses import Response

    if not signed_in(rights):
        raise Denied(401, "Bitte anmelden.")
    _officer(rights)
    days = request.app.state.overview.days(rights, min(max(tage, 1), 365))
    return Response(request.app.state.overview.csv(days), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="amtswissen-uebersicht.csv"'})


# --- synonyms ---------------------------------------------------------------------------
@router.get("/verwaltung/synonyme", response_class=HTMLResponse, include_in_schema=False)
def synonyms_page(request: Request, rights: RightsDep, bereich: str = "", meldung: str = ""):
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    _officer(rights)
    lists = request.app.state.synonym_lists
    scopes = lists.scopes(rights)
    scope = bereich if bereich in {s for s, _ in scopes} else scopes[0][0]
    return templates.TemplateResponse(
        request, "synonyms.html",
        {"scopes": scopes, "scope": scope, "text": lists.text(rights, scope), "token": csrf_of(request),
         "rights": rights, "meldung": meldung, "preview": None},
    )


@router.post("/verwaltung/synonyme/vorschau", response_class=HTMLResponse, include_in_schema=False)
def synonyms_preview(request: Request, rights: RightsDep, bereich: Annotated[str, Form(max_length=200)],
                     text: Annotated[str, Form(max_length=100_000)], token: Annotated[str, Form(max_length=200)]):
    """The change measured before it is saved: each reference question the list covers, ranked
    with the lists as saved and as they would be."""
    check_form(request, token)
    _officer(rights)
    lists = request.app.state.synonym_lists
    with as_http():
        references = request.app.state.feedback.store.references(rights.principal.tenant)
        effects = lists.effects(rights, bereich, text, request.app.state.searcher, references)
    return templates.TemplateResponse(
        request, "synonyms.html",
        {"scopes": lists.scopes(rights), "scope": bereich, "text": text, "token": csrf_of(request), "rights": rights,
         "meldung": "", "preview": {"effects": effects, "problems": lists.problems(text),
                                    "worse": [e for e in effects if e.change == "schlechter"],
                                    "better": [e for e in effects if e.change == "besser"]}},
    )


@router.post("/verwaltung/synonyme/speichern", include_in_schema=False)
def synonyms_save(request: Request, rights: RightsDep, bereich: Annotated[str, Form(max_length=200)],
                  text: Annotated[str, Form(max_length=100_000)], token: Annotated[str, Form(max_length=200)]):
    check_form(request, token)
    _officer(rights)
    with as_http():
        request.app.state.synonym_lists.save(rights, bereich, text)
    return RedirectResponse("/verwaltung/synonyme?" + urlencode({"bereich": bereich, "meldung": "Gespeichert. Die "
                            "Suche verwendet die Liste ab sofort; die Referenzfragen werden erneut gestellt."}),
                            status_code=303)
