"""Administration without clicking: the set-up of a new municipality as a script of
`amtswissen` commands (as in the README), checked by what its users can then find."""

from __future__ import annotations

import io
import json
import sys

import pytest

from amtswissen.cli import main
from tests.conftest import MODEL_DIR


@pytest.fixture()
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AMTSWISSEN_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("AMTSWISSEN_MODEL", str(MODEL_DIR))

    def command(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err
    return command


def test_a_municipality_is_set_up_by_script_and_its_rules_hold(run, tmp_path):
    sozial = tmp_path / "sozial"
    sozial.mkdir()
    (sozial / "hilfe.md").write_text("# Hilfe zum Lebensunterhalt\n\nDer Antrag auf Hilfe zum Lebensunterhalt "
                                     "wird im Sozialamt in Zimmer 12 gestellt.\n", encoding="utf-8")
    steps = [
        ("tenant", "add", "musterstadt", "--name", "Stadt Musterstadt"),
        ("unit", "add", "musterstadt", "sozialamt", "--title", "Sozialamt"),
        ("unit", "add", "musterstadt", "buergeramt", "--title", "Bürgeramt"),
        ("user", "add", "musterstadt", "carla", "--unit", "sozialamt", "--password-stdin"),
        ("user", "add", "musterstadt", "bernd", "--unit", "buergeramt", "--password-stdin"),
        ("collection", "set", "musterstadt-sozial", "--tenant", "musterstadt", "--visibility", "eingeschraenkt"),
        ("grant", "add", "musterstadt", "editor", "--unit", "sozialamt", "--collection", "musterstadt-sozial"),
        ("ingest", str(sozial), "--collection", "musterstadt-sozial", "--json"),
    ]
    for step in steps:
        code, out, err = run(*step, stdin="Ein-gutes-Passwort\n" if "--password-stdin" in step else None)
        assert code == 0, (step, err)
    question = "Wo stelle ich den Antrag auf Hilfe zum Lebensunterhalt?"
    code, out, _ = run("search", question, "--as", "carla", "--json")
    assert json.loads(out)["results"][0]["document"]["collection"] == "musterstadt-sozial"
    code, out, _ = run("search", question, "--as", "bernd", "--json")
    assert all(r["document"]["collection"] != "musterstadt-sozial" for r in json.loads(out)["results"])
    # a deputy for today gives bernd carla's collection, and only that
    code, out, _ = run("deputy", "add", "carla", "bernd", "--start", "2000-01-01", "--end", "2999-12-31",
                       "--collections", "musterstadt-sozial")
    assert code == 0 and "bernd vertritt carla" in out
    code, out, _ = run("search", question, "--as", "bernd", "--json")
    assert json.loads(out)["results"][0]["document"]["collection"] == "musterstadt-sozial"
    code, out, _ = run("token", "add", "musterstadt", "Fachverfahren", "--role", "reader", "--expires", "2999-01-01",
                       "--json")
    token = json.loads(out)
    assert token["token"].startswith("aw_" + token["id"] + "_")
    code, out, _ = run("token", "list", "musterstadt", "--json")
    assert [t["id"] for t in json.loads(out)] == [token["id"]] and token["token"] not in out
    code, out, _ = run("audit", "musterstadt")
    actions = [line.split(";")[3] for line in out.strip().splitlines()[1:]]
    assert {"mandant-angelegt", "benutzer-angelegt", "recht-erteilt", "vertretung-erteilt",
            "token-erstellt"} <= set(actions)


def test_mistakes_get_a_german_message_and_exit_2(run):
    assert run("tenant", "add", "musterstadt")[0] == 0
    code, _, err = run("tenant", "add", "musterstadt")
    assert code == 2 and "gibt es schon" in err
    code, _, err = run("user", "add", "musterstadt", "x", "--password-stdin", stdin="kurz\n")
    assert code == 2 and "mindestens 10 Zeichen" in err
    code, _, err = run("grant", "add", "gibtsnicht", "reader", "--user", "x")
    assert code == 2 and "gibt es nicht" in err
    code, _, err = run("user", "add", "musterstadt", "../etc")
    assert code == 2 and "Ungültiger Name" in err
    code, _, err = run("user", "import-ldap", "anna")
    assert code == 2 and "Kein Verzeichnisdienst" in err
