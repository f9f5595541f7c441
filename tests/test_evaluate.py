from search.evaluate import _metrics, is_hit

Q = {"doc": "pauswg.md", "answer_contains": ["den Personalausweis zu hinterlegen oder in sonstiger Weise"]}


def test_hit_rule_collapses_whitespace_and_case():
    assert is_hit(Q, "gesetze/pauswg.md", "... verlangt werden, den\nPersonalausweis  zu HINTERLEGEN oder in sonstiger Weise ...")
    assert not is_hit(Q, "pauswg_alt.md", "den Personalausweis zu hinterlegen oder in sonstiger Weise")
    assert not is_hit(Q, "pauswg.md", "den Personalausweis abzugeben")


def test_metrics():
    m = _metrics([1, 3, None, 11])
    assert m == {"n": 4, "hit@1": 0.25, "hit@5": 0.5, "hit@10": 0.5, "mrr@10": round((1 + 1 / 3) / 4, 4)}


def test_answer_sentence_figures_follow_the_hit_rule():
    from search.evaluate import evaluate
    from search.results import DocumentRef, SearchResponse, SearchResult

    def result(rank, source, text, highlight):
        doc = DocumentRef(id=source, title=source, source=source, collection="c", url="/")
        return SearchResult(rank=rank, passage_id=rank, score=1.0, text=text, highlight=highlight, section="",
                            page=None, document=doc)

    answer = "den Personalausweis zu hinterlegen oder in sonstiger Weise"
    passage = f"(1) Vom Inhaber darf nicht verlangt werden, {answer} aufzugeben. (2) Anderes."
    lists = {
        "marked first": [result(1, "pauswg.md", passage, f"Vom Inhaber darf nicht verlangt werden, {answer}.")],
        "found, wrong sentence": [result(1, "x.md", "x", "x"), result(2, "pauswg.md", passage, "(2) Anderes.")],
        "found second, marked": [result(1, "x.md", "x", "x"), result(2, "pauswg.md", passage, answer.upper())],
        "not found": [result(1, "x.md", "x", "x")],
    }
    questions = [{"id": name, "question": name, **Q} for name in lists]
    report = evaluate(questions, lambda q, k: SearchResponse(query=q, took_ms=0, results=lists[q]))
    assert report.highlight_precision == round(2 / 3, 4)  # of the three found
    assert report.answer_at_1 == 0.25  # only the first: top result, answer marked
    assert [o.marked_answer for o in report.questions] == [True, False, True, None]
