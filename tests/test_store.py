"""Index round trip: documents, chunks and vectors agree, and a failed write changes nothing."""

import faiss
import numpy as np
import pytest

from index.base import ChunkRecord, DocumentRecord, PieceRecord, document_id, now_iso
from index.local import IndexStore


def _doc(root, source, sha="a" * 64):
    return DocumentRecord(document_id(root, source), root, source, "default", source.upper(), "markdown", sha, 10,
                          None, "files/x", now_iso())


def _chunk(text, vec):
    v = np.asarray(vec, dtype=np.float32)
    return ChunkRecord(text, "§ 1", None, [PieceRecord(text, v / np.linalg.norm(v))])


def _texts(store, piece_ids):
    owners = store.chunks_of_pieces([int(i) for i in piece_ids])
    return {p.text for p in store.passages(list(owners.values())).values()}


def test_apply_replace_remove_roundtrip(tmp_path):
    store = IndexStore(tmp_path)
    a, b = _doc("/r", "a.md"), _doc("/r", "b.md")
    store.apply([(a, [_chunk("alpha", [1, 0, 0]), _chunk("beta", [0, 1, 0])]), (b, [_chunk("gamma", [0, 0, 1])])], [], "m", 3)
    assert store.counts() == (2, 3)
    index = store.load_faiss()
    assert index.ntotal == 3
    _, ids = index.search(np.array([[0, 0, 1]], dtype=np.float32), 1)
    assert _texts(store, ids[0]) == {"gamma"}

    # replace a: its old chunks leave FAISS and SQLite, b keeps its id
    store.apply([(_doc("/r", "a.md", sha="b" * 64), [_chunk("delta", [1, 1, 0])])], [], "m", 3)
    assert store.counts() == (2, 2)
    assert _texts(store, store.load_faiss().ids()) == {"delta", "gamma"}

    store.apply([], [b.id], "m", 3)
    assert store.counts() == (1, 1)
    assert store.load_faiss().ntotal == 1
    # a removal erases: no older generation that still holds b's vector stays on disk
    assert len(list(tmp_path.glob("vectors-*.faiss"))) == 1


def test_failed_write_leaves_previous_index(tmp_path, monkeypatch):
    store = IndexStore(tmp_path)
    store.apply([(_doc("/r", "a.md"), [_chunk("alpha", [1, 0, 0])])], [], "m", 3)
    generation = store.generation

    def broken(*args, **kwargs):
        raise OSError("Datenträger voll")

    monkeypatch.setattr(faiss, "write_index", broken)
    with pytest.raises(OSError):
        store.apply([(_doc("/r", "b.md"), [_chunk("beta", [0, 1, 0])])], [_doc("/r", "a.md").id], "m", 3)
    monkeypatch.undo()
    reopened = IndexStore(tmp_path)
    assert reopened.generation == generation
    assert reopened.counts() == (1, 1)
    assert reopened.load_faiss().ntotal == 1


def test_faiss_rebuilt_from_sqlite_when_file_is_lost(tmp_path):
    store = IndexStore(tmp_path)
    store.apply([(_doc("/r", "a.md"), [_chunk("alpha", [1, 0, 0]), _chunk("beta", [0, 1, 0])])], [], "m", 3)
    for f in tmp_path.glob("vectors-*.faiss"):
        f.unlink()
    index = IndexStore(tmp_path).load_faiss()
    assert index.ntotal == 2


def test_files_of_a_failed_write_never_become_current(tmp_path, monkeypatch):
    """A write that fails after saving its lexical generation: the generation number is handed
    out again, so the next write must not adopt what the failed one left."""
    from index.lexical import LexicalIndex

    store = IndexStore(tmp_path)
    store.apply([(_doc("/r", "a.md"), [_chunk("Meldebehörde Anmeldung", [1, 0, 0])])], [], "m", 3)
    save = LexicalIndex.save

    def save_then_fail(self, folder):
        save(self, folder)
        raise OSError("Absturz vor dem Commit")

    monkeypatch.setattr(LexicalIndex, "save", save_then_fail)
    with pytest.raises(OSError):
        store.apply([(_doc("/r", "b.md"), [_chunk("Zwetschkenbaum Obstgarten", [0, 1, 0])])], [], "m", 3)
    monkeypatch.undo()
    assert not store.lexical_path(store.generation + 1).exists()
    assert not store.faiss_path(store.generation + 1).exists()
    # the next write is an intermediate batch (no lexical update) and takes the same number
    store.apply([(_doc("/r", "c.md"), [_chunk("Meldebescheinigung Wohnung", [0, 0, 1])])], [], "m", 3, lexical=False)
    lexical = store.load_lexical()
    term = lexical.analyzer.terms
    assert lexical.search({term("Zwetschkenbaum")[0]: 1.0}, 5) == []
    found = lexical.search({term("Meldebescheinigung")[0]: 1.0}, 5)
    assert [store.passages([h.chunk_id])[h.chunk_id].text for h in found] == ["Meldebescheinigung Wohnung"]


def test_a_removal_does_not_rewrite_the_recorded_model(tmp_path):
    store = IndexStore(tmp_path)
    a, b = _doc("/r", "a.md"), _doc("/r", "b.md")
    store.apply([(a, [_chunk("alpha", [1, 0, 0])]), (b, [_chunk("beta", [0, 1, 0])])], [], "m", 3)
    store.apply([], [a.id], "m+int8", 4)  # a server with other numerics may still delete
    assert store.meta("model") == "m" and store.meta("dim") == "3"
    assert store.load_faiss().ntotal == 1 and store.verify() == []
    from index.base import ModelMismatch

    with pytest.raises(ModelMismatch):
        store.apply([(a, [_chunk("alpha", [1, 0, 0])])], [], "m+int8", 3)


def test_erasure_after_batched_updates_leaves_no_word_of_old_versions(tmp_path):
    """Passages replaced in a batch without lexical update still leave the word counts."""
    store = IndexStore(tmp_path)
    a = _doc("/r", "a.md")
    store.apply([(a, [_chunk("Personalakte Kleinposemuckel Holunderallee", [1, 0, 0])])], [], "m", 3)
    store.apply([(a, [_chunk("Personalakte neue Fassung", [0, 1, 0])])], [], "m", 3, lexical=False)
    store.apply([], [a.id], "m", 3)  # erasure, with the lexical update
    words = (tmp_path / f"lexical-{store.generation}" / "words.json").read_text()
    assert "kleinposemuckel" not in words and "holunderallee" not in words and "personalakte" not in words
    assert store.meta("lexical_pending_words") is None
