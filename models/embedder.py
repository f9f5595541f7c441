"""The embedding model as the rest of the code sees it: local folder in, normalised vectors out.

Two runtimes behind one class: PyTorch float32 through sentence-transformers (the
reference) and OpenVINO on an IR exported once at set-up (`models/export.py`).
Both read the text with the same tokenizer (`tokenizer.json` loaded by `tokenizers`,
which keeps the converted normaliser), and both form batches by token count.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np

# Never reach for a model hub: deployments here are offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BACKENDS = ("auto", "torch", "openvino")
PRECISIONS = ("auto", "f32", "bf16", "int8")


class ModelNotFoundError(RuntimeError):
    pass


def default_threads() -> int:
    """All cores this process may use (cgroup/affinity aware, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) or 1


def weights_id(folder: Path) -> str:
    """Names the weights and prompts: changes when the converted model changes."""
    h = hashlib.sha256()
    for name in ("config.json", "config_sentence_transformers.json", "SOURCE.json"):
        p = folder / name
        if p.exists():
            h.update(p.read_bytes())
    weights = folder / "model.safetensors"
    if weights.exists():
        h.update(str(weights.stat().st_size).encode())
    return f"{folder.name}-{h.hexdigest()[:12]}"


def numerics_id(weights: str, precision: str) -> str:
    """Cache key of vectors made with `precision`. PyTorch float32, OpenVINO float32 and
    OpenVINO bf16 count as one model: measured against each other on law passages their
    vectors agree to a cosine of 0.99999 or better, below any effect on ranking. int8
    vectors differ measurably (cosine 0.998-0.999) and get their own key, so switching to
    or from int8 means a new index (README "Einbettung")."""
    return f"{weights}+int8" if precision == "int8" else weights


class Embedder:
    """Shared part: prompts, tokenizer, token-count batching. Subclasses run the network.

    `id` is the embedding cache key and the model an index records: the weights plus the
    numerics (see `numerics_id`), so vectors of different numerics never mix in one index.

    >>> e = load_embedder(Path("models/e5-small"))
    >>> e.embed_query("Wie lange ist ein Perso gültig?").shape
    (384,)
    """

    backend = "base"
    precision = "f32"

    def __init__(self, folder: Path, batch_size: int = 16, threads: int = 0):
        folder = Path(folder)
        if not (folder / "modules.json").exists():
            raise ModelNotFoundError(
                f"Kein sentence-transformers-Modell in {folder}. "
                "Einmal `python -m models.convert` ausführen (macht `make run` automatisch)."
            )
        from tokenizers import Tokenizer

        self.folder = folder
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        st_config = json.loads((folder / "config_sentence_transformers.json").read_text())
        self.prompts: dict[str, str] = st_config.get("prompts") or {}
        # what sentence-transformers truncates at: the tokenizer's maximum, within the positions
        config = json.loads((folder / "config.json").read_text())
        tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
        self.max_seq_length = min(int(tokenizer_config.get("model_max_length", 512)),
                                  int(config["max_position_embeddings"]))
        self.dim = int(config["hidden_size"])
        # The tokenizer file itself: transformers' XLM-R class would rebuild the pipeline
        # and drop the converted normaliser (tests/test_embed_backends.py checks the ids).
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        self.pad_id = self.tokenizer.token_to_id("<pad>")
        self.weights = weights_id(folder)

    @property
    def id(self) -> str:
        return numerics_id(self.weights, self.precision)

    def _prompt(self, name: str) -> str:
        return self.prompts.get(name, "")

    def _encode(self, texts: list[str], encodings: list | None = None) -> np.ndarray:
        """Normalised vectors of texts that already carry their prompt; one batch.
        `encodings`: the texts' tokenizer output, when the caller has it already."""
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self._prompt("query") + text])[0]

    def token_counts(self, texts: list[str], prompt: str = "") -> list[int]:
        """Tokens of each text as the model sees it (prompt included, truncated at its maximum)."""
        return [len(e.ids) for e in self.tokenizer.encode_batch([prompt + t for t in texts])]

    def embed_passages(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        """Vectors in the order of `texts`. Batches are formed by token count, so a batch pads
        little: sentence-transformers sorts by characters, which left about a quarter of the
        tokens of German law text as padding (bench/embed.py measures the difference)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if progress is None:
            progress = sys.stderr.isatty()
        prompt = self._prompt("passage")
        prompted = [prompt + t for t in texts]
        encodings = self.tokenizer.encode_batch(prompted)  # once: for the order and the model
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")[::-1]  # longest first: memory peaks early
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        from tqdm import tqdm

        for batch in tqdm(batches, disable=not progress, desc="Einbetten", unit="Stapel"):
            out[batch] = self._encode([prompted[i] for i in batch], [encodings[i] for i in batch])
        return out

    def feeds(self, texts: list[str], encodings: list | None = None) -> dict[str, np.ndarray]:
        """Token ids and attention mask of one batch, padded to its longest text."""
        if encodings is None:
            encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}


class TorchEmbedder(Embedder):
    """The reference: sentence-transformers in float32. Its id is the plain weights id, so
    indexes built before there was a choice of runtime stay valid."""

    backend = "torch"

    def __init__(self, folder: Path, batch_size: int = 16, threads: int = 0):
        super().__init__(folder, batch_size, threads)
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter CLI output
        torch.set_num_threads(self.threads)
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def _encode(self, texts: list[str], encodings: list | None = None) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


class OpenVINOEmbedder(Embedder):
    """The exported IR (mean pooling and normalisation inside the graph), compiled for
    latency with an explicit thread count and inference precision."""

    backend = "openvino"

    def __init__(self, folder: Path, precision: str = "f32", batch_size: int = 16, threads: int = 0):
        super().__init__(folder, batch_size, threads)
        from models.export import ir_path

        import openvino as ov

        path = ir_path(folder, precision)
        if not path.exists():
            raise ModelNotFoundError(
                f"Kein OpenVINO-Modell ({precision}) in {path.parent}. "
                f"Einmal `python -m models.export` ausführen (macht `make` automatisch)."
            )
        self.precision = precision
        core = ov.Core()
        # int8 IRs keep their non-quantised operations in float32: the hint only decides
        # whether those may run in bf16, which is our "bf16" variant of the float32 IR.
        hint = "bf16" if precision == "bf16" else "f32"
        self.compiled = core.compile_model(str(path), "CPU", {
            "INFERENCE_NUM_THREADS": self.threads,
            "INFERENCE_PRECISION_HINT": hint,
            "PERFORMANCE_HINT": "LATENCY",
        })
        self._local = threading.local()

    def _encode(self, texts: list[str], encodings: list | None = None) -> np.ndarray:
        # One infer request per thread: a request is not safe to share, and the server
        # embeds queries from several worker threads at once.
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        out = request.infer(self.feeds(texts, encodings))
        return np.array(next(iter(out.values())), dtype=np.float32)


def load_embedder(folder: Path, backend: str = "auto", precision: str = "auto", batch_size: int = 16,
                  threads: int = 0, index_model: str | None = None) -> Embedder:
    """The embedder the settings ask for. "auto" takes OpenVINO with the variant that
    set-up measured on this machine as the fastest within the quality limit
    (models/export.py), PyTorch if no IR was exported. An existing index decides between
    int8 and the float family when precision is "auto": its vectors must not be mixed
    with others (`index_model` is the model the index records)."""
    from models.export import chosen_precision, ir_path

    folder = Path(folder)
    if backend not in BACKENDS or precision not in PRECISIONS:
        raise ValueError(f"Unbekanntes Einbettungs-Backend {backend}/{precision}")
    measured = chosen_precision(folder)
    if precision == "auto":
        precision = measured or "f32"
        if index_model and index_model.endswith("+int8") != (precision == "int8"):
            wants_int8 = index_model.endswith("+int8") and ir_path(folder, "int8").exists()
            precision = "int8" if wants_int8 else ("bf16" if measured == "bf16" else "f32")
    if backend == "auto":
        backend = "openvino" if measured is not None and ir_path(folder, precision).exists() else "torch"
    if backend == "torch":
        if precision == "int8":
            raise ValueError("int8 gibt es nur mit dem OpenVINO-Backend")
        return TorchEmbedder(folder, batch_size, threads)
    return OpenVINOEmbedder(folder, precision, batch_size, threads)
