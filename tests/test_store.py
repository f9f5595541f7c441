"""Index round trip: documents, chunks and vectors agree, and a failed write changes nothing."""

import faiss
import numpy as np
import pytest

from index.store import ChunkRecord, DocumentRecord, IndexStore, PieceRecord, document_id, now_iso


def _doc(root, source, sha="a" * 64):
    return DocumentRecord(document_id(root, source), root, source, "default", source.upper(), "markdown", sha, 10,
                          None, "files/x", now_iso())


def _chunk(text, vec):
    v = np.asarray(vec, dtype=np.float32)
    return ChunkRecord(text, "§ 1", None, [PieceRecord(text, v / np.linalg.norm(v))])


def _texts(store, piece_ids):
    owners = store.chunks_of_pieces([int(i) for i in piece_ids])
    return {r["text"] for r in store.chunks_by_ids(list(owners.values())).values()}


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
