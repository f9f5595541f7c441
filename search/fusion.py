"""Joining ranked lists: reciprocal rank fusion, or a weighted sum of calibrated scores."""

from __future__ import annotations

from collections import defaultdict


def reciprocal_rank(lists: list[list[int]], weights: list[float] | None = None, k: int = 60) -> dict[int, float]:
    """Σ weight / (k + rank): robust, needs no score calibration (Cormack et al. 2009).

    >>> reciprocal_rank([[1, 2], [2, 3]])[2] > reciprocal_rank([[1, 2], [2, 3]])[1]
    True
    """
    weights = weights or [1.0] * len(lists)
    fused: dict[int, float] = defaultdict(float)
    for ranked, w in zip(lists, weights):
        for rank, item in enumerate(ranked, 1):
            fused[item] += w / (k + rank)
    return dict(fused)


def _min_max(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = (hi - lo) or 1.0
    return {i: (s - lo) / span for i, s in scores.items()}


def weighted_sum(dense: dict[int, float], lexical: dict[int, float], lexical_weight: float) -> dict[int, float]:
    """(1 − w) · dense + w · lexical, each min-max normalised over the candidates.

    e5's cosines crowd into a narrow band (0.80–0.86 among the top hundred),
    BM25 has no fixed scale at all: both are stretched to 0..1 over this
    query's candidates so that the weight means the same for every query.
    Items missing from one side count 0 there.
    """
    d, lex = _min_max(dense), _min_max(lexical)
    items = set(d) | set(lex)
    return {i: (1 - lexical_weight) * d.get(i, 0.0) + lexical_weight * lex.get(i, 0.0) for i in items}
