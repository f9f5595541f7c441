"""Keeping the base current: edits, deletions, crashes and searches during a replace."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


from amtswissen.settings import Settings
from ingest.pipeline import ingest
from index.local import IndexStore
from search.searcher import Searcher
from tests.conftest import LAWS, MODEL_DIR

AMTSWISSEN = str(Path(sys.executable).parent / "amtswissen")
OLD = "Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt"
NEW = "Personalausweise werden für eine Gültigkeitsdauer von sieben Jahren ausgestellt"


def _copy(tmp_path, names):
    folder = tmp_path / "laws"
    folder.mkdir()
    for n in names:
        shutil.copy(LAWS / n, folder / n)
        os.chmod(folder / n, 0o644)
    return folder


def _searcher(index, embedder):
    return Searcher(Settings(index=index, model=MODEL_DIR), embedder)


def test_edit_one_paragraph_reembeds_only_its_pieces(tmp_path, embedder):
    laws = _copy(tmp_path, ["pauswg.md", "pauswgebv.md"])
    store = IndexStore(tmp_path / "index")
    first = ingest([laws], store, embedder)
    assert first.added == 2
    search = _searcher(tmp_path / "index", embedder)
    assert any(OLD in r.text for r in search.search("Wie lange ist ein Personalausweis gültig?", 5).results)

    path = laws / "pauswg.md"
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r"Gültigkeitsdauer\s+von\s+zehn\s+Jahren\s+ausgestellt", "Gültigkeitsdauer von sieben Jahren ausgestellt",
                    text, count=1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    second = ingest([laws], store, embedder)
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 1, 1, 0)
    assert 1 <= second.chunks <= 2  # only the piece(s) holding the edited sentence
    assert first.chunks > 50 * second.chunks

    for q in ("Wie lange ist ein Personalausweis gültig?", "Gültigkeitsdauer zehn Jahre Personalausweis"):
        texts = [r.text for r in search.search(q, 10).results]
        assert not any(OLD in t for t in texts)  # the old sentence never answers again
    assert any(NEW in r.text for r in search.search("Wie lange ist ein Personalausweis gültig?", 5).results)

    # delete → gone (its cached vectors erased with it); restore → back
    backup = path.read_bytes()
    path.unlink()
    third = ingest([laws], store, embedder)
    assert third.removed == 1
    assert not any(r.document.source == "pauswg.md" for r in search.search("Personalausweis Gültigkeitsdauer", 10).results)
    path.write_bytes(backup)
    fourth = ingest([laws], store, embedder)
    assert fourth.added == 1 and fourth.chunks > 50  # embedded again: erasure took its cached vectors
    assert any(NEW in r.text for r in search.search("Wie lange ist ein Personalausweis gültig?", 5).results)
    assert store.verify() == []
    events = [v.event for v in store.versions(store.documents_under(str(laws.resolve()))["pauswg.md"].id)]
    assert events == ["added", "updated", "removed", "added"]


def test_kill_9_during_ingest_leaves_a_consistent_searchable_index(tmp_path, embedder):
    names = ["pauswgebv.md", "passv_2007.md", "pauswv.md", "bmelddav.md", "hundverbreinfg.md", "namaendg.md"]
    laws = _copy(tmp_path, names)
    index = tmp_path / "index"
    store = IndexStore(index)
    ingest([LAWS / "pauswgebv.md"], store, embedder)  # a previous state that must survive
    env = {**os.environ, "AMTSWISSEN_MODEL": str(MODEL_DIR), "AMTSWISSEN_APPLY_EVERY": "1"}
    docs_seen = set()
    for delay in (3, 6, 9, 12):
        proc = subprocess.Popen([AMTSWISSEN, "ingest", str(laws), "--index", str(index), "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check = IndexStore(index)
        assert check.verify() == []
        docs, _ = check.counts()
        docs_seen.add(docs)
        assert docs >= 1
        results = _searcher(index, embedder).search("Gebühr Personalausweis", 3).results
        assert results and results[0].document.source
        check.close()
    done = subprocess.run([AMTSWISSEN, "ingest", str(laws), "--index", str(index), "--json"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    final = IndexStore(index)
    assert final.verify() == []
    assert len(final.documents_under(str(laws.resolve()))) == len(names)


def test_searches_during_a_replace_never_fail(tmp_path, embedder):
    laws = _copy(tmp_path, ["pauswg.md", "pauswgebv.md"])
    store = IndexStore(tmp_path / "index")
    ingest([laws], store, embedder)
    search = _searcher(tmp_path / "index", embedder)
    errors, answered = [], []
    stop = threading.Event()

    def ask():
        while not stop.is_set():
            try:
                r = search.search("Gültigkeitsdauer des Personalausweises", 5)
                answered.append(len(r.results))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    path = laws / "pauswg.md"
    original = path.read_text(encoding="utf-8")
    for i in range(3):
        path.write_text(original + f"\n\n## Notiz {i}\n\nÄnderung Nummer {i} für den Test.\n", encoding="utf-8")
        report = ingest([laws], store, embedder)
        assert report.updated == 1
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert answered and min(answered) == 5
    assert store.verify() == []
