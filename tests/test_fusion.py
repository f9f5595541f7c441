from search.fusion import reciprocal_rank, weighted_sum


def test_rrf_rewards_agreement():
    fused = reciprocal_rank([[1, 2, 3], [3, 2, 9]])
    assert max(fused, key=fused.get) in (2, 3)
    assert fused[2] == 1 / 62 + 1 / 62
    assert fused[9] < fused[1]


def test_weighted_sum_normalises_each_side():
    dense = {1: 0.86, 2: 0.84, 3: 0.80}  # e5 cosines crowd together
    lexical = {3: 30.0, 4: 10.0}  # BM25 has no fixed scale
    fused = weighted_sum(dense, lexical, 0.5)
    assert fused[1] == 0.5  # best dense, no lexical
    assert fused[3] == 0.5  # worst dense, best lexical
    assert abs(fused[2] - 0.5 * (0.04 / 0.06)) < 1e-9
    assert fused[4] == 0.0
