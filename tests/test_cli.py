"""The CLI as users call it: a real subprocess on real files."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import LAWS, MODEL_DIR, PDFS

AMTSWISSEN = str(Path(sys.executable).parent / "amtswissen")


def run(*args, env_index=None):
    env = {"PATH": "/usr/bin:/bin", "AMTSWISSEN_MODEL": str(MODEL_DIR)}
    if env_index:
        env["AMTSWISSEN_INDEX"] = str(env_index)
    return subprocess.run([AMTSWISSEN, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def test_ingest_search_eval_and_resync(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(LAWS / "pauswgebv.md", docs)
    shutil.copy(PDFS / "ocrmypdf_invalid.pdf", docs)
    shutil.copy(PDFS / "pypdf_r4-aes-user-password.pdf", docs)
    (docs / "leer.txt").write_text("")
    (docs / "notiz.md").write_text("# Fundsachen\n\nFundsachen werden im Bürgerbüro sechs Monate aufbewahrt.\n")
    index = tmp_path / "index"

    r = run("ingest", docs, "--json", env_index=index)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["added"] == 2 and report["unchanged"] == 0 and report["removed"] == 0
    reasons = {f["source"]: f["reason"] for f in report["failed"]}
    assert "beschädigt" in reasons["ocrmypdf_invalid.pdf"]
    assert "passwortgeschützt" in reasons["pypdf_r4-aes-user-password.pdf"]
    assert "leer" in reasons["leer.txt"]
    assert report["chunks"] > 0 and report["seconds"] > 0

    r = run("search", "Wie lange werden Fundsachen aufbewahrt?", "--k", "3", "--json", "--index", index)
    assert r.returncode == 0, r.stderr
    top = json.loads(r.stdout)["results"][0]
    assert top["document"]["source"] == "notiz.md" and top["document"]["title"] == "Fundsachen"
    r = run("search", "Wie lange werden Fundsachen aufbewahrt?", "--k", "3", "--index", index)
    assert r.stdout.startswith("Antwort aus der Quelle: „Fundsachen werden im Bürgerbüro sechs Monate aufbewahrt.“")

    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "x", "question": "Fundsachen Aufbewahrung", "doc": "notiz.md", "section": "",
                                     "answer_contains": ["sechs Monate aufbewahrt"], "style": "keyword",
                                     "difficulty": "easy"}) + "\n")
    r = run("eval", questions, "--json", "--index", index)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["hit@1"] == 1.0 and report["highlight_precision"] == 1.0 and report["answer@1"] == 1.0
    assert 0 <= report["answer_box_shown"] <= 1 and "answer_box_right" in report

    # unchanged files are skipped, a deleted file is removed, other roots untouched
    (docs / "notiz.md").unlink()
    r = run("ingest", docs, "--json", env_index=index)
    report = json.loads(r.stdout)
    assert (report["added"], report["unchanged"], report["removed"], report["chunks"]) == (0, 1, 1, 0)
    r = run("search", "Fundsachen", "--json", "--index", index)
    assert all(x["document"]["source"] != "notiz.md" for x in json.loads(r.stdout)["results"])


def test_bad_arguments_exit_non_zero(tmp_path):
    r = run("ingest", tmp_path / "gibt-es-nicht", "--index", tmp_path / "i")
    assert r.returncode != 0 and "nicht" in r.stderr
    r = run("search", "", "--index", tmp_path / "i")
    assert r.returncode != 0
    locked = tmp_path / "ro"
    locked.write_text("kein Ordner")  # a file where the index folder should be
    r = run("ingest", LAWS / "pauswgebv.md", "--index", locked)
    assert r.returncode != 0 and "nicht beschreibbar" in r.stderr
