"""Embedding throughput and query latency of every runtime variant on real law pieces,
side by side in one run: interleaved rounds, same pieces, same batch size, against
PyTorch float32 as sentence-transformers batches it (sorted by characters) — the state
before issue 10 — and with batches formed by token count.

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
from ingest.chunk import chunk_document  # noqa: E402
from text.context import context_text  # noqa: E402
from models.embedder import OpenVINOEmbedder, TorchEmbedder  # noqa: E402
from models.export import candidate_precisions, cpu_flags, ir_path  # noqa: E402

LAWS = ROOT.parent / "shared" / "corpus" / "laws"
QUESTIONS = ["Perso verloren, was tun?", "Wie lange ist ein Reisepass gültig, wenn man jünger als 24 ist?",
             "Was kostet die Anmeldung?", "Wer ist für die Ausstellung der Lohnsteuerkarte zuständig?"]


def law_pieces(n: int) -> list[str]:
    """Pieces as ingest embeds them (title and heading path in front), from several laws."""
    sizes = Settings().chunk_sizes()
    out: list[str] = []
    for path in sorted(LAWS.glob("*.md")):
        for c in chunk_document([path.read_text(encoding="utf-8")], "markdown", False, sizes):
            out += [context_text(path.stem, c.section, p) for p in c.pieces]
    step = max(1, len(out) // n)
    return out[::step][:n]


def query_ms(embedder, repeats: int = 40) -> float:
    for q in QUESTIONS:
        embedder.embed_query(q)
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        embedder.embed_query(QUESTIONS[i % len(QUESTIONS)])
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pieces", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    torch = TorchEmbedder(settings.model, settings.embed_batch_size)
    pieces = law_pieces(args.pieces)
    prompt = torch._prompt("passage")
    counts = torch.token_counts(pieces, prompt)

    def by_characters() -> np.ndarray:
        return torch.model.encode(pieces, prompt=prompt, batch_size=torch.batch_size,
                                  normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    variants = {"PyTorch f32, nach Zeichen (vorher)": (torch, by_characters),
                "PyTorch f32, nach Tokenzahl": (torch, lambda: torch.embed_passages(pieces, progress=False))}
    precisions = sorted(set(candidate_precisions()) | {p for p in ("int8",) if ir_path(settings.model, p).exists()})
    for precision in precisions:
        ov = OpenVINOEmbedder(settings.model, precision, settings.embed_batch_size)
        ov.embed_passages(pieces[:16], progress=False)  # compile kernels outside the clock
        variants[f"OpenVINO {precision}, nach Tokenzahl"] = (ov, lambda ov=ov: ov.embed_passages(pieces, progress=False))

    rates: dict[str, list[float]] = {name: [] for name in variants}
    latency: dict[str, list[float]] = {name: [] for name in variants}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, (embedder, fn) in variants.items():
            started = time.perf_counter()
            vectors[name] = fn()
            rates[name].append(len(pieces) / (time.perf_counter() - started))
            latency[name].append(query_ms(embedder))
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx")))
    print(f"{len(pieces)} Stücke aus {LAWS}, {sum(counts)} Tokens, Stapel {settings.embed_batch_size}, "
          f"{args.rounds} Runden abwechselnd, {torch.threads} Threads; CPU: {' '.join(flags)}")
    names = list(variants)
    base = statistics.median(rates[names[0]])
    reference = vectors[names[0]]
    for name in names:
        cos = np.sum(vectors[name] * reference, axis=1)
        print(f"  {name:36} {statistics.median(rates[name]):6.1f} Stücke/s ({statistics.median(rates[name]) / base:4.2f}×)"
              f"  Anfrage {statistics.median(latency[name]):5.1f} ms  Kosinus Mittel {cos.mean():.5f} Min {cos.min():.5f}")


if __name__ == "__main__":
    main()
