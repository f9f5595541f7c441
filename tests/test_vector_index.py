"""The vector index grows: exact up to a size, IVF above it with recall ≥ 0.98 against
exact search, deletions exact in effect, memory-mapped for readers."""

import numpy as np

from index.local import IndexStore
from index.vectors import VectorIndex

DIM = 384


def clustered(n: int, clusters: int = 80, seed: int = 7) -> np.ndarray:
    """Vectors with the structure of text embeddings: topics (clusters) with spread."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, DIM)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(x: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ x.T), axis=1)[:, :k]]


def test_ivf_recall_against_flat_and_exact_deletes(tmp_path):
    x = clustered(12_000)
    ids = np.arange(100, 100 + len(x), dtype=np.int64)
    flat = VectorIndex.empty(DIM)
    flat.add(ids, x)
    assert flat.grown(exact_limit=20_000) is flat  # below the limit it stays exact
    ivf = flat.grown(exact_limit=5_000)
    assert ivf.kind == "ivf" and ivf.ntotal == len(x)
    assert sorted(ivf.ids().tolist()) == ids.tolist()

    queries = clustered(300, seed=11)
    truth = exact_top(x, ids, queries, 10)
    _, found = ivf.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.98, recall

    # a replaced document: its pieces leave, new ones come; none of the old ever returns
    gone = ids[::7]
    ivf.remove(gone)
    _, found = ivf.search(np.concatenate([queries, x[::7][:300]]), 50)
    assert not set(found.ravel().tolist()) & set(gone.tolist())
    assert ivf.ntotal == len(x) - len(gone)
    np.testing.assert_allclose(ivf.reconstruct(int(ids[1])), x[1], atol=1e-6)

    # a reader opens it memory-mapped: same answers
    ivf.save(tmp_path / "v.faiss")
    reader = VectorIndex.load(tmp_path / "v.faiss", mmap=True)
    assert reader.kind == "ivf" and reader.ivf.nprobe == ivf.ivf.nprobe
    np.testing.assert_array_equal(reader.search(queries, 10)[1], ivf.search(queries, 10)[1])

    # shrinking far below the limit goes back to exact search
    ivf.remove(ids[: len(x) - 1_000])
    small = ivf.grown(exact_limit=5_000)
    assert small.kind == "flat" and small.ntotal == len(x) - len(x) + 1_000 - len(set(gone) & set(ids[len(x) - 1_000:]))


def test_an_index_past_the_limit_is_an_ivf_and_stays_consistent(tmp_path, embedder):
    from ingest.pipeline import ingest
    from tests.conftest import LAWS

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("pauswg.md", "pauswgebv.md"):
        (docs / name).write_text((LAWS / name).read_text(encoding="utf-8"), encoding="utf-8")
    store = IndexStore(tmp_path / "index")
    store.exact_limit = 20  # a tiny limit: the same code path as a large archive
    try:
        report = ingest([docs], store, embedder, progress=False)
        # the report says where the time went (bench/scale.py prints it per stage)
        stages = report.to_dict()["stages"]
        assert set(stages) == {"lesen", "einbetten", "schreiben", "lexikalisch"}
        assert stages["einbetten"] > 0 and stages["lexikalisch"] > 0
        assert sum(report.stages.values()) <= report.seconds  # unrounded: the stages lie within the run
        index = store.load_faiss()
        assert index.kind == "ivf" and index.ntotal > 20
        assert store.verify() == []
        gone = {p for ps in store.pieces_of_chunks(
            [r[0] for r in store.db.execute(
                "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.source LIKE '%pauswgebv%'")]).values()
            for p in ps}
        assert gone
        (docs / "pauswgebv.md").unlink()
        ingest([docs], store, embedder, progress=False)
        index = store.load_faiss(mmap=True)
        assert index.kind == "ivf" and store.verify() == []
        _, found = index.search(embedder.embed_query("Gebühr Personalausweis").reshape(1, -1), index.ntotal)
        assert not set(found[0].tolist()) & gone
    finally:
        store.close()


def test_filtered_search_returns_all_allowed_up_to_k(monkeypatch):
    """Few allowed pieces spread over many lists: the IVF's probed lists may hold too few,
    the search must still return k of them (or all there are)."""
    from index import vectors

    x = clustered(6_000)
    ids = np.arange(len(x), dtype=np.int64)
    flat = VectorIndex.empty(DIM)
    flat.add(ids, x)
    ivf = flat.grown(exact_limit=1_000)
    allowed = np.random.default_rng(3).choice(ids, 20, replace=False)
    query = clustered(1, seed=99)
    for limit in (10, 20_000):  # through FAISS' id selector, and exactly
        monkeypatch.setattr(vectors, "EXACT_FILTERED", limit)
        scores, found = ivf.search(query, 50, allowed)
        assert sorted(found[0][:20].tolist()) == sorted(allowed.tolist()) and (found[0][20:] == -1).all()
        truth = allowed[np.argsort(-(query @ x[allowed].T)[0])][:5]
        assert found[0][:5].tolist() == truth.tolist()
