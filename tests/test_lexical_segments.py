"""The lexical index grows by segments: a change analyses only the passages it brings,
scores stay those of an index built from scratch, merges and erasure rewrite segments."""

from pathlib import Path

import bm25s
import numpy as np

from index.lexical import K1, MAX_SEGMENTS, B, LexicalIndex
from index.local import IndexStore
from tests.conftest import LAWS

QUERIES = [{"ausweis": 1.0}, {"gebuhr": 1.0, "personalausweis": 0.5}, {"wohnung": 1.0, "anmeld": 1.0},
           {"frist": 1.0}, {"behord": 0.7, "zustand": 1.0}]


def law_rows(name: str, start: int = 0, size: int = 120) -> list[tuple[int, str]]:
    words = (LAWS / name).read_text(encoding="utf-8").split()
    return [(start + i, " ".join(words[p:p + size])) for i, p in enumerate(range(0, len(words), size))]


def as_dict(index: LexicalIndex, query: dict) -> dict[int, float]:
    scores = index.scores(query)
    return {int(index.chunk_ids[i]): float(scores[i]) for i in np.flatnonzero(scores)}


def live_tokens(index: LexicalIndex) -> dict[int, list[str]]:
    """Each live passage's terms as the index holds them (term repeated tf times)."""
    out: dict[int, list[str]] = {}
    for seg in index.segments:
        for tid, term in enumerate(seg.terms):
            for d, tf in zip(seg.docs[seg.indptr[tid]:seg.indptr[tid + 1]], seg.tfs[seg.indptr[tid]:seg.indptr[tid + 1]]):
                out.setdefault(int(seg.chunk_ids[d]), []).extend([term] * int(tf))
    live = index.live_chunk_ids()
    return {c: t for c, t in out.items() if c in live}


def assert_scores_of_one_index(index: LexicalIndex) -> None:
    """BM25 over segments and deletions equals BM25 of one index (bm25s) over the same
    passages and terms: N, average length and document frequencies are global and live."""
    tokens = live_tokens(index)
    ids = sorted(tokens)
    reference = bm25s.BM25(k1=K1, b=B)
    reference.index([tokens[c] for c in ids], show_progress=False)
    for q in QUERIES:
        ours = as_dict(index, q)
        theirs = np.zeros(len(ids), dtype=np.float32)
        for term, weight in q.items():
            if term in reference.vocab_dict:
                theirs += weight * reference.get_scores([term])
        expected = {c: float(s) for c, s in zip(ids, theirs) if s}
        assert ours.keys() == expected.keys(), q
        np.testing.assert_allclose([ours[k] for k in sorted(ours)], [expected[k] for k in sorted(ours)], rtol=1e-5)


def assert_ranks_like(a: LexicalIndex, b: LexicalIndex) -> None:
    """Against a rebuild from the texts: the same top passages (terms may differ a little,
    since a passage is split into compounds with the vocabulary of the moment it was written)."""
    for q in QUERIES:
        top_a = [h.chunk_id for h in a.search(q, 10)]
        top_b = [h.chunk_id for h in b.search(q, 10)]
        assert top_a and len(set(top_a) & set(top_b)) >= 0.8 * max(len(top_a), len(top_b)), q


def test_scores_equal_bm25s_on_the_same_terms():
    rows = law_rows("pauswg.md")
    index = LexicalIndex.build(rows)
    reference = bm25s.BM25(k1=K1, b=B)  # the library the index used before segments
    reference.index([index.analyzer.terms(t) or ["\u2205"] for _, t in rows], show_progress=False)
    for q in QUERIES:
        ours = index.scores(q)
        theirs = np.zeros(len(rows), dtype=np.float32)
        for term, weight in q.items():
            if term in reference.vocab_dict:
                theirs += weight * reference.get_scores([term])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        assert ours.max() > 0


def test_one_document_change_adds_one_segment_and_scores_as_rebuilt():
    pauswg, bmg = law_rows("pauswg.md", 0), law_rows("bmg.md", 10_000)
    index = LexicalIndex.build(pauswg + bmg)
    big = index.segments[0]
    # a new version of one "document": its ten passages leave, eleven come
    old = pauswg[:10]
    new = [(20_000 + i, text.replace("Ausweis", "Ausweisdokument")) for i, (_, text) in enumerate(pauswg[:11])]
    changed = index.updated(new, old)
    assert changed.segments[0] is big and len(changed.segments) == 2
    assert changed.segments[1].size == len(new)  # only the new passages were analysed
    assert not {c for c, _ in old} & set(as_dict(changed, {"ausweis": 1.0}))
    assert_scores_of_one_index(changed)
    assert_ranks_like(changed, LexicalIndex.build(pauswg[10:] + bmg + new))


def test_many_changes_are_merged_and_erasure_rewrites_segments():
    rows = law_rows("bmg.md")
    text = dict(rows[:50])
    index = LexicalIndex.build(rows[:50])
    for new_id in range(50, 50 + MAX_SEGMENTS + 3):  # each change: one passage leaves, one comes
        old = min(index.live_chunk_ids())
        text[new_id] = rows[new_id % len(rows)][1]
        index = index.updated([(new_id, text[new_id])], [(old, text[old])])
        assert len(index.segments) <= MAX_SEGMENTS
    live = sorted(index.live_chunk_ids())
    assert_scores_of_one_index(index)
    assert_ranks_like(index, LexicalIndex.build([(c, text[c]) for c in live]))
    # an erasure: the segment that held the passage is rewritten without it
    victim = live[0]
    erased = index.updated([], [(victim, text[victim])], expunge=True)
    assert victim not in set(np.concatenate([s.chunk_ids for s in erased.segments]).tolist())
    assert not erased.deleted


def test_store_writes_a_small_segment_for_one_changed_document(tmp_path: Path, embedder):
    from ingest.pipeline import ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("pauswg.md", "pauswgebv.md", "passg_1986.md"):
        (docs / name).write_text((LAWS / name).read_text(encoding="utf-8"), encoding="utf-8")
    store = IndexStore(tmp_path / "index")
    try:
        ingest([docs], store, embedder, progress=False)
        segments = tmp_path / "index" / "segments"
        first = {p.name for p in segments.iterdir()}
        assert len(first) == 1
        text = (docs / "pauswgebv.md").read_text(encoding="utf-8")
        (docs / "pauswgebv.md").write_text(text + "\n\n## § 99 Zeitreisegebühr\n\nFür Zeitreisen wird keine Gebühr erhoben.\n")
        ingest([docs], store, embedder, progress=False)
        second = {p.name for p in segments.iterdir()}
        assert first < second and len(second) == 2  # the big segment stays, one small one is new
        lexical = store.load_lexical()
        assert lexical.search({"zeitreis": 1.0}, 5)
        # removing the document erases its terms from every segment on disk
        (docs / "pauswgebv.md").unlink()
        ingest([docs], store, embedder, progress=False)
        on_disk = " ".join(p.read_text(encoding="utf-8") for p in segments.glob("*/terms.json"))
        assert "zeitreis" not in on_disk
        assert "zeitreis" not in (tmp_path / "index" / f"lexical-{store.generation}" / "words.json").read_text()
        assert store.load_lexical().search({"zeitreis": 1.0}, 5) == []
    finally:
        store.close()


def test_rarity_counts_only_live_passages():
    rows = [(1, "Die Meldebehörde trägt ein."), (2, "Die Meldebehörde prüft."), (3, "Die Meldebehörde löscht."),
            (4, "Ein Hund bellt.")]
    index = LexicalIndex.build(rows)
    assert index.rarity("meldebehord") < index.rarity("hund") <= 2.0
    # the passages with "Hund" gone: "Meldebehörde" is in every live passage, counts least
    live = LexicalIndex(index.segments, {4}, index.words)
    assert live.rarity("meldebehord") == 0.1
    assert live.rarity("gibtsnicht") == 1.0  # a word in no passage matches nothing: neutral
    # a caller who may read passages 1–3 only: what passage 4 holds does not count
    from index.lexical import Vocabulary

    readable = Vocabulary(index, np.array([1, 2, 3]))
    assert readable.rarity("meldebehord") == 0.1 and readable.rarity("hund") == 1.0
