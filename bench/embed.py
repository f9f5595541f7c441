"""Embedding throughput of the real ingest path on real law pieces: batches formed by
token count (Embedder.embed_passages) against sentence-transformers' own batching
(sorted by characters), interleaved rounds in one run, same pieces, same batch size.

    .venv/bin/python bench/embed.py [--pieces 600] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402
from ingest.chunk import chunk_document, context_text  # noqa: E402
from models.embedder import Embedder  # noqa: E402

LAWS = ROOT.parent / "shared" / "corpus" / "laws"


def law_pieces(n: int) -> list[str]:
    """Pieces as ingest embeds them (title and heading path in front), from several laws."""
    sizes = Settings().chunk_sizes()
    out: list[str] = []
    for path in sorted(LAWS.glob("*.md")):
        for c in chunk_document([path.read_text(encoding="utf-8")], "markdown", False, sizes):
            out += [context_text(path.stem, c.section, p) for p in c.pieces]
    step = max(1, len(out) // n)
    return out[::step][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pieces", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    embedder = Embedder(Settings().model)
    pieces = law_pieces(args.pieces)
    prompt = embedder._prompt("passage")
    counts = embedder.token_counts(pieces, prompt)

    def plain() -> np.ndarray:
        return embedder.model.encode(pieces, prompt=prompt, batch_size=embedder.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    def by_tokens() -> np.ndarray:
        return embedder.embed_passages(pieces, progress=False)

    rates: dict[str, list[float]] = {"sentence-transformers (Zeichen)": [], "nach Tokenzahl (Standard)": []}
    vectors = {}
    for _ in range(args.rounds):
        for name, fn in zip(rates, (plain, by_tokens)):
            started = time.perf_counter()
            vectors[name] = fn()
            rates[name].append(len(pieces) / (time.perf_counter() - started))
    a, b = vectors.values()
    print(f"{len(pieces)} Stücke aus {LAWS}, {sum(counts)} Tokens, Stapel {embedder.batch_size}, "
          f"{args.rounds} Runden abwechselnd")
    for name, values in rates.items():
        print(f"  {name:34} Median {statistics.median(values):6.1f} Stücke/s  ({', '.join(f'{v:.1f}' for v in values)})")
    names = list(rates)
    print(f"  Verhältnis {statistics.median(rates[names[1]]) / statistics.median(rates[names[0]]):.2f}×; "
          f"Kosinus der Vektoren min {float(np.min(np.sum(a * b, axis=1))):.6f}")


if __name__ == "__main__":
    main()
