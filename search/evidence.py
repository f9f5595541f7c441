"""Second stage without a second model: the head of the hybrid ranking re-ordered by how
well each passage's best sentence answers the question.

Fusion ranks whole passages by their nearest piece and their BM25 weight. A passage whose
best sentence holds the question's words, or states what the question asks for (a deadline,
a list of documents …), answers more surely than one that is a little closer as a whole:
§ 24 PStG (Findelkind) is near "Bis wann muss eine Geburt gemeldet werden?", but no sentence
of it speaks of a birth being reported; § 18 PStG does.

The score is linear in four features: the fused score (search/fusion.py, per-query 0..1,
plus the citation boosts) and, of the passage's marked sentence (search/highlight.py), the
share of the question's weighted words it holds, the weight it holds, and whether it states
the asked-for kind. The weights come from a logistic regression fitted on the first half of
the public XQuAD-de questions (`bench/fit_evidence.py` refits them and prints the figures);
the dev questions and the questions kept back were not used. Only the fused score's scale
fits them, so the stage runs in hybrid mode only and not after a cross-encoder.
"""

from __future__ import annotations

from search.highlight import Marked

# bench/fit_evidence.py: standardised logistic regression (C = 1) on XQuAD-de's even-numbered
# questions, coefficients divided by the features' spread and by the fused score's weight
COVERAGE_WEIGHT = 0.047
MATCHED_WEIGHT = 0.0077
TYPED_WEIGHT = 0.05
EVIDENCE_TOP = 10  # the candidates re-ordered: the first page of results


def evidence_score(fused: float, marked: Marked | None) -> float:
    if marked is None:
        return fused
    return (fused + COVERAGE_WEIGHT * marked.coverage + MATCHED_WEIGHT * marked.score
            + TYPED_WEIGHT * float(marked.typed))


def reorder(ranked: list[tuple[int, float]], marks: dict[int, Marked | None],
            top: int = EVIDENCE_TOP) -> list[tuple[int, float]]:
    """The first `top` candidates by their evidence score; those below keep their order
    (and stay below: a re-ordered score never sinks under the next stage's best)."""
    head = [(cid, evidence_score(score, marks.get(cid))) for cid, score in ranked[:top]]
    return sorted(head, key=lambda x: -x[1]) + ranked[top:]
