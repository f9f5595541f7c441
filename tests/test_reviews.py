"""Wiedervorlage (issue 15, item 5) on both backends: the due list per owner and unit, right
across date boundaries; "geprüft, unverändert"; the daily digest as a file and by e-mail
to a real SMTP server (aiosmtpd, started here on a loopback port)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from fastapi.testclient import TestClient

from ingest import writes
from knowledge.demo import install_demo, rights_of
from knowledge.service import TaskInput
from service.api import create_app
from tests.conftest import login, module_settings
from tests.test_knowledge import PASSWORD, _empty_demo

TODAY = date.today()  # the page lists as of today: the sheets are dated relative to it


@pytest.fixture(scope="module", params=["folder", "postgres"])
def settings(request, tmp_path_factory):
    with module_settings(request.param, request, tmp_path_factory.mktemp("wiedervorlage"),
                         review_after_days=365, review_notice_days=30) as s:
        yield s


def _sheet(title: str, owner: str | None, reviewed: str | None) -> str:
    meta = [f"title: {title}"] + ([f"zustaendig: {owner}"] if owner else []) + (
        [f"zuletzt_geprueft: {reviewed}"] if reviewed else [])
    return "---\n" + "\n".join(meta) + f"\n---\n\n# {title}\n\nWer {title} beantragt, bringt den Ausweis mit.\n"


@pytest.fixture(scope="module")
def client(settings, embedder, tmp_path_factory):
    """(The tests below run in this order on one index: the read-only ones first.) Four sheets in "buergerbuero": reviewed 365 days before TODAY (due today), 366 (overdue
    since yesterday), 335 (due in 30 days: listed), 334 (due in 31 days: not yet); one without
    owner and review date (never due)."""
    docs = tmp_path_factory.mktemp("merkblaetter")
    for name, owner, days in (("heute", "paula", 365), ("gestern", "paula", 366), ("in30", "otto", 335),
                              ("in31", "otto", 334), ("ohne", None, None)):
        reviewed = (TODAY - timedelta(days=days)).isoformat() if days else None
        (docs / f"{name}.md").write_text(_sheet(f"Merkblatt {name}", owner, reviewed), encoding="utf-8")
    backend = settings.backend()
    writes.sync_sources(backend, embedder, [docs], "buergerbuero", "test")
    backend.close()
    with TestClient(create_app(settings, embedder)) as c:
        install_demo(c.app.state.knowledge, password=PASSWORD, release=False,
                     folder=_empty_demo(tmp_path_factory.mktemp("demo")))
        yield c


def _due(client, today=TODAY):
    return client.app.state.reviews.due(rights_of(client.app.state.knowledge, "olga"), today)


def test_the_due_list_is_right_across_date_boundaries(client):
    items = {i.title: i for i in _due(client)}
    assert set(items) == {"Merkblatt heute", "Merkblatt gestern", "Merkblatt in30"}
    assert not items["Merkblatt heute"].overdue and items["Merkblatt heute"].due == TODAY.isoformat()
    assert items["Merkblatt gestern"].overdue
    assert not items["Merkblatt in30"].overdue
    assert (items["Merkblatt heute"].owner, items["Merkblatt heute"].unit) == ("paula", "buergerbuero")
    assert items["Merkblatt in30"].unit == "ordnungsamt"  # otto's unit
    # one day later: "heute" is overdue and "in31" comes into the window
    later = {i.title: i for i in _due(client, TODAY + timedelta(days=1))}
    assert later["Merkblatt heute"].overdue and "Merkblatt in31" in later
    # a reader and an editor see no list
    assert client.app.state.reviews.due(rights_of(client.app.state.knowledge, "rita"), TODAY) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_sink():
    """A real SMTP server on loopback that keeps what it receives."""
    from aiosmtpd.controller import Controller

    received: list = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, received
    finally:
        controller.stop()


def test_the_daily_digest_goes_to_a_file_and_by_smtp(client, settings, smtp_sink, tmp_path):
    port, received = smtp_sink
    digest = tmp_path / "wiedervorlage.txt"
    env = {**os.environ, "AMTSWISSEN_SMTP_HOST": "127.0.0.1", "AMTSWISSEN_SMTP_PORT": str(port),
           "AMTSWISSEN_SMTP_FROM": "amtswissen@stadt.example", "AMTSWISSEN_REVIEW_AFTER_DAYS": "365",
           **({"AMTSWISSEN_DATABASE_URL": settings.database_url} if settings.database_url else {})}
    done = subprocess.run([sys.executable, "-m", "amtswissen.cli", "rueckmeldungen", "wiedervorlage", "--mandant",
                           "standard", "--an", "wissen@stadt.example,leitung@stadt.example", "--datei", str(digest),
                           "--stichtag", TODAY.isoformat(), "--link", "https://wissen.stadt.example", "--index",
                           str(settings.index), "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    subject = f"Amtswissen Wiedervorlage {TODAY.isoformat()}: 1 überfällig, 2 fällig"
    assert json.loads(done.stdout) == {"items": 3, "subject": subject, "sent": True}
    text = digest.read_text(encoding="utf-8")
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert "Überfällig (1):" in text and "Merkblatt gestern" in text and f"fällig am {yesterday}" in text
    assert "paula: 1 überfällig, 1 fällig" in text and "https://wissen.stadt.example/verwaltung/wiedervorlage" in text
    assert len(received) == 1
    mail = received[0]
    assert mail.mail_from == "amtswissen@stadt.example"
    assert sorted(mail.rcpt_tos) == ["leitung@stadt.example", "wissen@stadt.example"]
    message = message_from_bytes(mail.original_content, policy=policy.default)
    assert message["Subject"] == subject
    assert "Merkblatt gestern" in message.get_content()
    # without a server configured: a clear error, nothing half-sent
    env.pop("AMTSWISSEN_SMTP_HOST")
    failed = subprocess.run([sys.executable, "-m", "amtswissen.cli", "rueckmeldungen", "wiedervorlage", "--mandant",
                             "standard", "--an", "wissen@stadt.example", "--stichtag", TODAY.isoformat(), "--index",
                             str(settings.index)], capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 2 and "Kein SMTP-Server eingerichtet" in failed.stderr
    assert "Traceback" not in failed.stderr
    # a server that does not answer: the same, a German sentence and exit 2
    env["AMTSWISSEN_SMTP_HOST"], env["AMTSWISSEN_SMTP_PORT"] = "127.0.0.1", str(_free_port())
    refused = subprocess.run([sys.executable, "-m", "amtswissen.cli", "rueckmeldungen", "wiedervorlage", "--mandant",
                              "standard", "--an", "wissen@stadt.example", "--stichtag", TODAY.isoformat(), "--index",
                              str(settings.index)], capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2 and "Fehler beim Versand" in refused.stderr and "Traceback" not in refused.stderr


def test_a_task_with_a_review_date_is_due_and_a_confirmed_review_moves_it(client):
    k = client.app.state.knowledge
    olga = rights_of(k, "olga")
    task = k.create_task(olga, TaskInput(name="Wohnsitz anmelden", collection="buergerbuero", unit="buergerbuero",
                                         owner="paula", review_due=(TODAY - timedelta(days=2)).isoformat()))
    reviews = client.app.state.reviews
    item = next(i for i in reviews.due(olga, TODAY) if i.kind == "aufgabe")
    assert (item.id, item.overdue, item.owner) == (task.id, True, "paula")
    nxt = reviews.confirm(olga, "aufgabe", task.id, TODAY)
    assert nxt == (TODAY + timedelta(days=365)).isoformat() == k.store.task(task.id).review_due
    assert all(i.kind != "aufgabe" for i in reviews.due(olga, TODAY))
    doc = next(i for i in reviews.due(olga, TODAY) if i.title == "Merkblatt gestern")
    reviews.confirm(olga, "dokument", doc.id, TODAY)
    assert "Merkblatt gestern" not in {i.title for i in reviews.due(olga, TODAY)}
    with client.app.state.searcher.snapshot() as reader:
        assert reader.document(doc.id).reviewed_at == TODAY.isoformat()  # the search's badge sees it too
    assert [e.target for e in k.access.store.audit_log("standard") if e.action == "geprueft-unveraendert"] == [
        doc.id, task.id]  # newest first


def test_the_page_groups_per_person_and_unit_and_records_a_review(client):
    # after the test before: "gestern" and the task were confirmed; "heute" (paula) and "in30" (otto) remain
    login(client, "olga", PASSWORD)
    page = client.get("/verwaltung/wiedervorlage")
    assert page.status_code == 200 and "2 Einträge, davon 0 überfällig" in page.text
    assert re.search(r"<h2[^>]*>paula \(1\)</h2>", page.text) and re.search(r"<h2[^>]*>otto \(1\)</h2>", page.text)
    by_unit = client.get("/verwaltung/wiedervorlage", params={"nach": "einheit"}).text
    assert re.search(r"<h2[^>]*>buergerbuero \(1\)</h2>", by_unit) and re.search(r"<h2[^>]*>ordnungsamt \(1\)</h2>",
                                                                                     by_unit)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    doc = re.search(r'name="kennung" value="([^"]+)"', page.text).group(1)
    done = client.post("/verwaltung/wiedervorlage/geprueft", data={"token": token, "art": "dokument",
                                                                     "kennung": doc}, follow_redirects=True)
    assert "Als geprüft vermerkt" in done.text
    wrong = client.post("/verwaltung/wiedervorlage/geprueft", data={"token": token, "art": "dokument",
                                                                      "kennung": "gibt-es-nicht"}, follow_redirects=True)
    assert "Dokument nicht gefunden" in wrong.text
    client.post("/verwaltung/abmelden")
    login(client, "rita", PASSWORD)
    assert client.get("/verwaltung/wiedervorlage").status_code == 403
