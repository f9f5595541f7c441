"""Optional second stage: a sentence-transformers CrossEncoder from a local folder.

None ships with Amtswissen (no hub at run time), so it is off unless
AMTSWISSEN_RERANKER points to a folder. It reorders the top candidates of the
first stage; candidates below them keep their order.
"""

from __future__ import annotations

from pathlib import Path


class Reranker:
    def __init__(self, folder: Path, top: int = 30):
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(folder), device="cpu", local_files_only=True)
        self.top = top

    @classmethod
    def from_settings(cls, settings) -> "Reranker | None":
        return cls(settings.reranker, settings.rerank_top) if settings.reranker else None

    def rerank(self, query: str, ranked: list[tuple[int, float]], texts: dict[int, str]) -> list[tuple[int, float]]:
        head, tail = ranked[: self.top], ranked[self.top :]
        scores = self.model.predict([(query, texts[cid]) for cid, _ in head], show_progress_bar=False)
        reordered = sorted(zip((cid for cid, _ in head), (float(s) for s in scores)), key=lambda x: -x[1])
        return reordered + tail
