"""What erasure costs: replacing and deleting documents with SQLite's secure_delete on
(the default: deleted text is zeroed, the WAL checkpointed and older generations dropped)
against off, on the same synthetic index, side by side in one run.

    .venv/bin/python bench/erase.py [--docs 300] [--rounds 15]

Synthetic passages of law-like length with random unit vectors (no model needed): the
cost being measured is SQLite, FAISS and BM25 writing, not embedding.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.base import ChunkRecord, DocumentRecord, PieceRecord, document_id, now_iso
from index.local import IndexStore

DIM = 384
WORDS = ("Antrag Behörde Frist Gebühr Meldebehörde Personalausweis Wohnung Anmeldung Bescheid Widerspruch "
         "Erlaubnis Zuständigkeit Verwaltungsakt Auskunft Nachweis Vertretung Unterlagen Verfahren").split()


def _document(rng: random.Random, n: int, version: int) -> tuple[DocumentRecord, list[ChunkRecord]]:
    doc = DocumentRecord(document_id("/bench", f"d{n}.md"), "/bench", f"d{n}.md", "default", f"Dokument {n}",
                         "markdown", f"{n:032d}{version:032d}", 1000, None, f"files/none-{n}.md", now_iso())
    chunks = []
    for c in range(30):
        text = " ".join(rng.choice(WORDS) for _ in range(300)) + f" v{version}"
        pieces = []
        for p in range(3):
            v = np.random.default_rng(n * 1000 + c * 10 + p + version).standard_normal(DIM).astype(np.float32)
            pieces.append(PieceRecord(f"{n}-{c}-{p}-{version}", v / np.linalg.norm(v)))
        chunks.append(ChunkRecord(text, f"§ {c + 1}", None, pieces))
    return doc, chunks


def run(docs: int, rounds: int) -> dict[str, dict[str, float]]:
    rng = random.Random(1)
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for mode in ("on", "off"):
            store = IndexStore(Path(tmp) / mode)
            store.db.execute(f"PRAGMA secure_delete={'ON' if mode == 'on' else 'OFF'}")
            batch = [_document(random.Random(n), n, 0) for n in range(docs)]
            for i in range(0, docs, 50):
                store.apply(batch[i:i + 50], [], "m", DIM, lexical=i + 50 >= docs)
            stores[mode] = store
            results[mode] = {"replace": [], "delete": []}
        # interleaved: each round replaces one document and deletes another in both indexes
        for r in range(rounds):
            for mode, store in stores.items():
                if mode == "off":  # erasure's extra steps are part of "on" only
                    store.checkpoint = lambda: True  # type: ignore[method-assign]
                doc = _document(rng, r, r + 1)
                started = time.perf_counter()
                store.apply([doc], [], "m", DIM)
                results[mode]["replace"].append(time.perf_counter() - started)
                started = time.perf_counter()
                store.apply([], [document_id("/bench", f"d{docs - 1 - r}.md")], "m", DIM)
                results[mode]["delete"].append(time.perf_counter() - started)
        for store in stores.values():
            store.close()
    return {mode: {k: statistics.median(v) * 1000 for k, v in ops.items()} for mode, ops in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    medians = run(args.docs, args.rounds)
    print(f"{args.docs} Dokumente × 30 Abschnitte × 3 Stücke, Median über {args.rounds} Runden (ms)")
    print(f"{'':40}{'ersetzen':>10}{'löschen':>10}")
    for mode, label in (("on", "mit Löschen (Standard)"), ("off", "secure_delete aus, ohne WAL-Checkpoint")):
        print(f"{label:40}{medians[mode]['replace']:>10.0f}{medians[mode]['delete']:>10.0f}")
    print(f"{'Verhältnis':40}{medians['on']['replace'] / medians['off']['replace']:>10.2f}"
          f"{medians['on']['delete'] / medians['off']['delete']:>10.2f}")


if __name__ == "__main__":
    main()
