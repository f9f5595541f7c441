"""Passages are embedded in batches formed by token count; the vectors come back in the
order of the texts and equal the vectors of each text embedded alone."""

import numpy as np

from tests.conftest import LAWS


def test_length_sorted_batches_keep_the_order(embedder):
    text = (LAWS / "pauswg.md").read_text(encoding="utf-8")
    words = text.split()
    # pieces of very different lengths, shuffled: short, long, medium, ...
    sizes = [5, 300, 40, 120, 3, 80, 250, 12, 60, 200, 8, 150, 30, 90, 2, 180, 45]
    pieces, start = [], 0
    assert len(words) > sum(sizes)
    for n in sizes:
        pieces.append(" ".join(words[start:start + n]))
        start += n
    batched = embedder.embed_passages(pieces, progress=False)
    alone = np.stack([embedder.embed_passages([p], progress=False)[0] for p in pieces])
    assert batched.shape == (len(pieces), embedder.dim)
    cosines = np.sum(batched * alone, axis=1)
    assert cosines.min() > 0.9999, cosines  # same text, same vector, whatever its batch
    # and each vector is nearest to its own text's: the order is the texts' order
    assert list(np.argmax(batched @ alone.T, axis=1)) == list(range(len(pieces)))


def test_token_counts_follow_the_tokenizer(embedder):
    counts = embedder.token_counts(["Perso", "Personalausweis " * 1000], "passage: ")
    assert 3 < counts[0] < 12 and counts[1] == embedder.max_seq_length
