"""Set-up step after the conversion: export the sentence-transformers folder to an
OpenVINO IR, quantise it where the CPU gains from that, and choose the variant by
measurement on this machine.

Variants: "f32" (the float32 IR), "bf16" (the same IR run with bf16 inference, only where
the CPU has bf16 dot products), "int8" (static post-training quantisation with NNCF,
calibrated on passages of the demo laws; only where the CPU has VNNI/AMX — without them
int8 is slower than float32, measured). Each variant is compared with the PyTorch float32
reference on held-out law passages; the fastest whose mean cosine is >= MIN_COSINE
becomes "chosen" in `openvino/report.json`, which `AMTSWISSEN_EMBED_BACKEND=auto` reads.
Retrieval quality of the choice is measured separately (bench/quality.py, README).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path


MIN_COSINE = 0.999
REPORT = "report.json"
DEMO_LAWS = Path(__file__).resolve().parent.parent / "data" / "demo" / "gesetze"


def ir_folder(model_folder: Path) -> Path:
    return Path(model_folder) / "openvino"


def ir_path(model_folder: Path, precision: str) -> Path:
    # bf16 is a way to run the float32 IR, not a file of its own
    return ir_folder(model_folder) / ("int8" if precision == "int8" else "f32") / "model.xml"


def chosen_precision(model_folder: Path) -> str | None:
    """The variant set-up measured as best here, if an IR was exported."""
    report = ir_folder(model_folder) / REPORT
    if not report.exists():
        return None
    chosen = json.loads(report.read_text()).get("chosen")
    return chosen if chosen and ir_path(model_folder, chosen).exists() else None


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    m = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(m.group(1).split()) if m else set()


def candidate_precisions(flags: set[str] | None = None) -> list[str]:
    """Variants worth measuring on this CPU."""
    flags = cpu_flags() if flags is None else flags
    out = ["f32"]
    if flags & {"avx512_bf16", "amx_bf16"}:
        out.append("bf16")
    if flags & {"avx512_vnni", "avx_vnni", "amx_int8"}:
        out.append("int8")
    return out


def law_passages(words: int = 120) -> list[str]:
    """Windows of about `words` words from the demo laws (shipped with the project, so the
    set-up needs nothing from outside), "passage: " prompted like ingest does."""
    out: list[str] = []
    for path in sorted(DEMO_LAWS.glob("*.md")):
        tokens = path.read_text(encoding="utf-8").split()
        out += ["passage: " + " ".join(tokens[i:i + words]) for i in range(0, len(tokens), words)]
    return out


def _pooled_module(folder: Path):
    """BERT plus mean pooling and normalisation, so the IR returns finished vectors."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    # eager attention traces into a plain graph that OpenVINO fuses
    return Pooled(AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval())


def export_f32(folder: Path) -> Path:
    import openvino as ov
    import torch

    target = ir_path(folder, "f32")
    target.parent.mkdir(parents=True, exist_ok=True)
    example = {"input_ids": torch.ones(2, 16, dtype=torch.long), "attention_mask": torch.ones(2, 16, dtype=torch.long)}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        model = ov.convert_model(_pooled_module(folder), example_input=example,
                                 input=[("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)])
    tmp = target.with_name("tmp.xml")
    ov.save_model(model, str(tmp), compress_to_fp16=False)  # fp16 weights would change the numerics
    tmp.with_suffix(".bin").replace(target.with_suffix(".bin"))
    tmp.replace(target)
    return target


def export_int8(folder: Path, calibration: list[str]) -> Path:
    """Static post-training quantisation of the float32 IR (weights and activations),
    activation ranges from `calibration`."""
    import nncf
    import openvino as ov

    from models.embedder import Embedder

    tokens = Embedder(folder)  # only its tokenizer
    core = ov.Core()
    model = core.read_model(str(ir_path(folder, "f32")))
    dataset = nncf.Dataset(calibration, lambda text: tokens.feeds([text]))
    quantized = nncf.quantize(model, dataset, model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(calibration))
    target = ir_path(folder, "int8")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name("tmp.xml")
    ov.save_model(quantized, str(tmp), compress_to_fp16=False)
    tmp.with_suffix(".bin").replace(target.with_suffix(".bin"))
    tmp.replace(target)
    return target


def measure(folder: Path, precisions: list[str], passages: list[str]) -> dict[str, dict]:
    """Mean/min cosine to PyTorch float32 and pieces/s of each variant on `passages`."""
    from models.embedder import OpenVINOEmbedder, TorchEmbedder

    texts = [p.removeprefix("passage: ") for p in passages]
    reference = TorchEmbedder(folder)
    started = time.perf_counter()
    ref = reference.embed_passages(texts, progress=False)
    results = {"torch-f32": {"pieces_per_s": round(len(texts) / (time.perf_counter() - started), 1),
                             "cosine_mean": 1.0, "cosine_min": 1.0}}
    for precision in precisions:
        embedder = OpenVINOEmbedder(folder, precision)
        embedder.embed_passages(texts[:16], progress=False)  # first inference compiles kernels
        started = time.perf_counter()
        vectors = embedder.embed_passages(texts, progress=False)
        rate = len(texts) / (time.perf_counter() - started)
        cosines = (vectors * ref).sum(axis=1)
        results[precision] = {"pieces_per_s": round(rate, 1), "cosine_mean": round(float(cosines.mean()), 5),
                              "cosine_min": round(float(cosines.min()), 5)}
    return results


def choose(results: dict[str, dict]) -> str:
    """The fastest OpenVINO variant within the quality limit (f32 always qualifies)."""
    ok = [p for p, r in results.items() if p != "torch-f32" and r["cosine_mean"] >= MIN_COSINE]
    return max(ok, key=lambda p: results[p]["pieces_per_s"]) if ok else "f32"


def ensure_openvino(folder: Path, force: bool = False, log=print, with_int8: bool = False) -> dict:
    """Export and measure once; returns the report (idempotent unless `force`).
    `with_int8` quantises even where the CPU lacks VNNI (to measure that it does not pay)."""
    folder = Path(folder)
    report_path = ir_folder(folder) / REPORT
    if report_path.exists() and not force:
        return json.loads(report_path.read_text())
    passages = law_passages()
    calibration, held_out = passages[1::2][:300], passages[::2][:200]
    log("OpenVINO: Export float32 …")
    export_f32(folder)
    precisions = candidate_precisions()
    if with_int8 and "int8" not in precisions:
        precisions.append("int8")
    if "int8" in precisions:
        log(f"OpenVINO: int8-Quantisierung mit {len(calibration)} Gesetzesabschnitten …")
        export_int8(folder, calibration)
    log(f"OpenVINO: Messung {', '.join(precisions)} gegen PyTorch float32 …")
    results = measure(folder, precisions, held_out)
    report = {"chosen": choose(results), "min_cosine": MIN_COSINE, "cpu_candidates": precisions,
              "passages": len(held_out), "results": results}
    report_path.write_text(json.dumps(report, indent=2))
    return report


def main() -> None:
    import argparse

    from models.convert import DEFAULT_TARGET

    parser = argparse.ArgumentParser(description="Modell nach OpenVINO exportieren und Varianten messen")
    parser.add_argument("--model", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--force", action="store_true", help="auch wenn schon exportiert")
    parser.add_argument("--int8", action="store_true", help="int8 auch ohne VNNI erzeugen und messen")
    args = parser.parse_args()
    report = ensure_openvino(args.model, args.force or args.int8, with_int8=args.int8)
    for name, r in report["results"].items():
        print(f"  {name:10} {r['pieces_per_s']:6.1f} Stücke/s  Kosinus Mittel {r['cosine_mean']:.5f} "
              f"Min {r['cosine_min']:.5f}")
    print(f"Gewählt: openvino-{report['chosen']} (Kosinus ≥ {MIN_COSINE}, schnellste)")


if __name__ == "__main__":
    main()
