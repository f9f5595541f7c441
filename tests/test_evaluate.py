from search.evaluate import _metrics, is_hit

Q = {"doc": "pauswg.md", "answer_contains": ["den Personalausweis zu hinterlegen oder in sonstiger Weise"]}


def test_hit_rule_collapses_whitespace_and_case():
    assert is_hit(Q, "gesetze/pauswg.md", "... verlangt werden, den\nPersonalausweis  zu HINTERLEGEN oder in sonstiger Weise ...")
    assert not is_hit(Q, "pauswg_alt.md", "den Personalausweis zu hinterlegen oder in sonstiger Weise")
    assert not is_hit(Q, "pauswg.md", "den Personalausweis abzugeben")


def test_metrics():
    m = _metrics([1, 3, None, 11])
    assert m == {"n": 4, "hit@1": 0.25, "hit@5": 0.5, "hit@10": 0.5, "mrr@10": round((1 + 1 / 3) / 4, 4)}
