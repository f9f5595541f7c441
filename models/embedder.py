"""The embedding model as the rest of the code sees it: local folder in, normalised vectors out."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

# Never reach for a model hub: deployments here are offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelNotFoundError(RuntimeError):
    pass


class Embedder:
    """Wraps a sentence-transformers folder with "query" and "passage" prompts.

    >>> e = Embedder(Path("models/e5-small"))
    >>> e.embed_query("Wie lange ist ein Perso gültig?").shape
    (384,)
    """

    def __init__(self, folder: Path, batch_size: int = 16):
        folder = Path(folder)
        if not (folder / "modules.json").exists():
            raise ModelNotFoundError(
                f"Kein sentence-transformers-Modell in {folder}. "
                "Einmal `python -m models.convert` ausführen (macht `make run` automatisch)."
            )
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter CLI output

        self.folder = folder
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dim = int(self.model.get_embedding_dimension())
        self.id = self._model_id(folder)

    @staticmethod
    def _model_id(folder: Path) -> str:
        """Cache key for embeddings: changes when the weights or prompts change."""
        h = hashlib.sha256()
        for name in ("config.json", "config_sentence_transformers.json", "SOURCE.json"):
            p = folder / name
            if p.exists():
                h.update(p.read_bytes())
        weights = folder / "model.safetensors"
        if weights.exists():
            h.update(str(weights.stat().st_size).encode())
        return f"{folder.name}-{h.hexdigest()[:12]}"

    def _prompt(self, name: str) -> str:
        return (self.model.prompts or {}).get(name, "")

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.encode(
            text, prompt=self._prompt("query"), normalize_embeddings=True, convert_to_numpy=True
        ).astype(np.float32)

    def token_counts(self, texts: list[str], prompt: str = "") -> list[int]:
        """Tokens of each text as the model sees it (prompt included, truncated at its maximum)."""
        ids = self.model.tokenizer([prompt + t for t in texts], add_special_tokens=True, truncation=True,
                                   max_length=self.model.max_seq_length)["input_ids"]
        return [len(i) for i in ids]

    def embed_passages(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        """Vectors in the order of `texts`. Batches are formed by token count, so a batch pads
        little: sentence-transformers sorts by characters, which left about a quarter of the
        tokens of German law text as padding (bench/embed.py measures the difference)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if progress is None:
            progress = sys.stderr.isatty()
        prompt = self._prompt("passage")
        order = np.argsort(self.token_counts(texts, prompt), kind="stable")[::-1]  # longest first: memory peaks early
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        from tqdm import tqdm

        for batch in tqdm(batches, disable=not progress, desc="Einbetten", unit="Stapel"):
            out[batch] = self.model.encode(
                [texts[i] for i in batch], prompt=prompt, batch_size=len(batch), normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return out

