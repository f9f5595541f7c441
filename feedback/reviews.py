"""Wiedervorlage: documents and notes due for review, per owner and per unit; "geprüft,
unverändert" records a review; a daily digest as a file or by e-mail.

What is due:
- a document with a person responsible (`zustaendig`) or a date of its last review
  (`zuletzt_geprueft`): `review_after_days` after that review, or after it was read in
  when it was never reviewed;
- a task (its note) with a review date (`Wiedervorlage`).
An item is *overdue* from the day after its due date and *due* from `review_notice_days`
before it. "Geprüft, unverändert" sets a document's last review to today and moves a task's
review date `review_after_days` on; both are written to the audit log.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage

from access.model import Rights
from access.store import AccessError, NotFound


@dataclass(frozen=True)
class DueItem:
    kind: str  # "dokument" or "aufgabe"
    id: str
    title: str
    collection: str
    owner: str  # "" when nobody is named
    unit: str  # the owner's (documents) or the task's organisational unit; "" unknown
    due: str  # ISO date
    last_review: str | None
    overdue: bool

    @property
    def url(self) -> str:
        return f"/dokument/{self.id}" if self.kind == "dokument" else f"/wissen/aufgabe/{self.id}"


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


class Reviews:
    def __init__(self, access, backend, knowledge, settings):
        self.access, self.backend, self.knowledge, self.settings = access, backend, knowledge, settings

    def due(self, rights: Rights, today: date | None = None) -> list[DueItem]:
        """Due and overdue items of the collections the caller tends, the earliest first."""
        from knowledge.service import is_note_document

        today = today or date.today()
        horizon = today + timedelta(days=self.settings.review_notice_days)
        every = timedelta(days=self.settings.review_after_days)
        units: dict[str, str] = {}  # owner → unit, looked up once
        items: list[DueItem] = []
        with self.backend.snapshot() as reader:
            documents = reader.list_documents()
        for d in documents:
            if d.collection not in rights.officer or is_note_document(d.root) or not (d.owner or d.reviewed_at):
                continue
            start = _day(d.reviewed_at) or _day(d.ingested_at)
            if start is None:
                continue
            due = start + every
            if due <= horizon:
                items.append(DueItem("dokument", d.id, d.title, d.collection, d.owner or "", self._unit(d.owner, units),
                                     due.isoformat(), d.reviewed_at, due < today))
        if self.knowledge is not None:
            for t in self.knowledge.store.tasks(collections=rights.officer):
                due = _day(t.review_due)
                if due is not None and due <= horizon:
                    items.append(DueItem("aufgabe", t.id, t.name, t.collection, t.owner or "", t.unit or "",
                                         due.isoformat(), None, due < today))
        return sorted(items, key=lambda i: (i.due, i.title.casefold()))

    def _unit(self, owner: str | None, cache: dict) -> str:
        """A document's unit: its owner's, when the owner is a user of the installation."""
        if not owner:
            return ""
        if owner not in cache:
            user = self.access.store.user(owner)
            cache[owner] = (user.unit or "") if user else ""
        return cache[owner]

    def confirm(self, rights: Rights, kind: str, item_id: str, today: date | None = None) -> str:
        """"Geprüft, unverändert": returns the new due date."""
        today = today or date.today()
        nxt = (today + timedelta(days=self.settings.review_after_days)).isoformat()
        actor = rights.principal.name
        if kind == "dokument":
            with self.backend.snapshot() as reader:
                doc = reader.document(item_id)
            if doc is None or not rights.can_read(doc.collection):
                raise NotFound("Dokument nicht gefunden.")
            if doc.collection not in rights.officer:
                raise AccessError("Die Prüfung bestätigen nur Wissensmanager der Sammlung.")
            with self.backend.session() as session:
                session.record_review(item_id, today.isoformat())
            self.access.store.audit(self.access.tenant_of(doc.collection), actor, "geprueft-unveraendert",
                                    item_id, f"Dokument; nächste Prüfung {nxt}")
            return nxt
        if kind == "aufgabe" and self.knowledge is not None:
            task = self.knowledge.readable_task(rights, item_id)
            if task.collection not in rights.officer:
                raise AccessError("Die Prüfung bestätigen nur Wissensmanager der Sammlung.")
            self.knowledge.store.update_task(task.id, {"review_due": nxt}, actor)
            self.access.store.audit(task.tenant, actor, "geprueft-unveraendert", task.id,
                                    f"Aufgabe; nächste Prüfung {nxt}")
            return nxt
        raise NotFound("Diesen Eintrag gibt es nicht.")

    # --- the digest ----------------------------------------------------------------
    def digest(self, rights: Rights, tenant: str, today: date | None = None, link: str = "") -> tuple[str, str, int]:
        """(subject, plain text, number of items) of one tenant's daily digest."""
        today = today or date.today()
        items = self.due(rights, today)
        overdue = [i for i in items if i.overdue]
        soon = [i for i in items if not i.overdue]
        lines = [f"Wiedervorlage für den Mandanten „{tenant}“, Stand {today.isoformat()}", ""]
        for title, group in ((f"Überfällig ({len(overdue)})", overdue),
                             (f"Fällig in den nächsten {self.settings.review_notice_days} Tagen ({len(soon)})", soon)):
            lines.append(title + ":")
            for i in group:
                who = f"zuständig: {i.owner}" + (f" ({i.unit})" if i.unit else "") if i.owner else "niemand zuständig"
                kind = "Dokument" if i.kind == "dokument" else "Aufgabe"
                lines.append(f"  - [{kind}] {i.title} ({i.collection}) – {who} – fällig am {i.due}")
            if not group:
                lines.append("  – keine –")
            lines.append("")
        for label, key in (("Je zuständige Person", "owner"), ("Je Einheit", "unit")):
            counts: dict[str, list[int]] = {}
            for i in items:
                c = counts.setdefault(getattr(i, key) or "–", [0, 0])
                c[0 if i.overdue else 1] += 1
            if counts:
                lines.append(label + ": " + "; ".join(f"{k}: {o} überfällig, {s} fällig"
                                                      for k, (o, s) in sorted(counts.items())))
        if link:
            lines += ["", f"Zur Liste: {link}/verwaltung/wiedervorlage"]
        subject = f"Amtswissen Wiedervorlage {today.isoformat()}: {len(overdue)} überfällig, {len(soon)} fällig"
        return subject, "\n".join(lines) + "\n", len(items)

    def send(self, subject: str, text: str, to: list[str]) -> None:
        """By the configured SMTP server (AMTSWISSEN_SMTP_*)."""
        s = self.settings
        if not s.smtp_host:
            raise AccessError("Kein SMTP-Server eingerichtet (AMTSWISSEN_SMTP_HOST).")
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, s.smtp_from, ", ".join(to)
        message.set_content(text)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(message)
