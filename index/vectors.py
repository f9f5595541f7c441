"""The vector index of the current pieces: exact while that is fast enough, an inverted
file (FAISS IVF) above a size, so the index grows with the corpus.

- Up to `exact_limit` vectors: flat inner product (exact cosine, every vector compared).
- Above: IVF-Flat with about 4·√n lists, trained on the vectors present when it is built,
  and searched in a third of its lists (recall@10 against flat is measured by
  bench/scale.py and tests/test_vector_index.py). It is rebuilt (retrained) when the
  corpus has grown fourfold since training.
- Deletes are exact in both: IVF removes ids from its lists (no tombstones, no ghosts);
  a direct map keeps `reconstruct(id)` working for the exact re-scoring of passages.
- Readers open an IVF file memory-mapped: a server starts without reading the vectors,
  and pages come in as lists are probed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np

EXACT_LIMIT = 50_000
# Share of the lists searched per query. Questions ("query: …") lie elsewhere than the
# passages the lists were trained on, so they need more lists than passage-like queries:
# on 17,344 real law pieces, 526 lists, recall@10 of the 60 dev questions against exact
# search was 0.930 with 1/8 of the lists, 0.978 with 1/4, 0.988 with 1/3 (passages as
# queries: ≥ 0.999 already with 1/8). bench/scale.py measures it at each size.
PROBE_SHARE = 1 / 3
MIN_PROBES = 16
RETRAIN_GROWTH = 4
EXACT_FILTERED = 20_000  # a filter allowing fewer vectors compares them exactly
MOSTLY_ALLOWED = 0.1  # a filter leaving out at most this share searches all and drops the rest


def _lists_for(n: int) -> int:
    return int(min(65536, max(64, 4 * math.sqrt(n))))


class VectorIndex:
    def __init__(self, index: faiss.Index, probe_share: float = PROBE_SHARE):
        self.index = index
        self.probe_share = probe_share
        ivf = self.ivf
        if ivf is not None:
            ivf.nprobe = max(MIN_PROBES, math.ceil(ivf.nlist * probe_share))

    @classmethod
    def empty(cls, dim: int) -> "VectorIndex":
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @property
    def ivf(self) -> faiss.IndexIVF | None:
        return self.index if isinstance(self.index, faiss.IndexIVF) else None

    @property
    def kind(self) -> str:
        return "ivf" if self.ivf is not None else "flat"

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def d(self) -> int:
        return int(self.index.d)

    def search(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top k by inner product; with `allowed` (piece ids) only among those — inside the
        search, so a small collection still yields its k best, not what is left of the
        index's k best. Few allowed vectors are compared exactly; many through FAISS'
        id selector (in the IVF with the same share of lists probed)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if allowed is None:
            return self.index.search(vectors, k)
        allowed = np.asarray(allowed, dtype=np.int64)
        excluded = self.ntotal - len(allowed)
        if 0 <= excluded <= MOSTLY_ALLOWED * self.ntotal:
            # a filter that leaves out a few (the task notes, a small collection): the k + excluded
            # best of the whole index hold the k best allowed ones; cheaper than copying the
            # allowed vectors or hashing their ids (a search over the laws: 66 → ms, README)
            scores, ids = self.index.search(vectors, min(k + excluded, self.ntotal))
            keep = np.isin(ids, allowed) & (ids >= 0)
            out_scores = np.full((len(vectors), k), -np.inf, dtype=np.float32)
            out_ids = np.full((len(vectors), k), -1, dtype=np.int64)
            for row in range(len(vectors)):
                found = np.flatnonzero(keep[row])[:k]
                out_scores[row, :len(found)] = scores[row, found]
                out_ids[row, :len(found)] = ids[row, found]
            return out_scores, out_ids
        if len(allowed) <= EXACT_FILTERED:
            candidates = self.vectors(allowed)
            scores = vectors @ candidates.T
            top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            out_scores = np.full((len(vectors), k), -np.inf, dtype=np.float32)
            out_ids = np.full((len(vectors), k), -1, dtype=np.int64)
            out_scores[:, :top.shape[1]] = np.take_along_axis(scores, top, axis=1)
            out_ids[:, :top.shape[1]] = allowed[top]
            return out_scores, out_ids
        selector = faiss.IDSelectorBatch(allowed)
        ivf = self.ivf
        params = faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe) if ivf else faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(vectors, k, params=params)
        if ivf is not None and (ids[:, min(k, len(allowed)) - 1] < 0).any():
            # the probed lists held too few allowed pieces: all lists, i.e. exact among the allowed
            scores, ids = self.index.search(vectors, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nlist))
        return scores, ids

    def reconstruct(self, piece_id: int) -> np.ndarray:
        return self.index.reconstruct(int(piece_id))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int] | np.ndarray) -> None:
        self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def ids(self) -> np.ndarray:
        ivf = self.ivf
        if ivf is None:
            return faiss.vector_to_array(self.index.id_map)
        lists = ivf.invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                 for i in range(ivf.nlist) if lists.list_size(i)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.d), np.float32)
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def grown(self, exact_limit: int = EXACT_LIMIT) -> "VectorIndex":
        """This index, or a new one of the structure its size calls for: flat → IVF past
        the limit, IVF retrained after fourfold growth, back to flat below half the limit."""
        n, ivf = self.ntotal, self.ivf
        if ivf is None and n <= exact_limit:
            return self
        if ivf is not None and exact_limit // 2 <= n and n <= RETRAIN_GROWTH * ivf.nlist ** 2 / 16:
            return self  # trained for up to (nlist/4)² · 4 vectors
        ids = self.ids()
        vectors = self.vectors(ids)
        if n <= exact_limit:
            out = VectorIndex.empty(self.d)
        else:
            out = VectorIndex(build_ivf(vectors), self.probe_share)
        out.add(ids, vectors)
        return out

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, mmap: bool = False, probe_share: float = PROBE_SHARE) -> "VectorIndex":
        """`mmap` for readers: an IVF's lists stay on disk until probed (never for a writer,
        whose removals and additions need them in memory)."""
        flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
        return cls(faiss.read_index(str(path), flags), probe_share)


def build_ivf(vectors: np.ndarray, seed: int = 1234) -> faiss.IndexIVFFlat:
    n, dim = vectors.shape
    nlist = max(1, min(_lists_for(n), n // 39))  # FAISS wants ≥ 39 training points per list
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed  # same vectors, same lists: builds are reproducible
    sample = vectors
    if n > 64 * nlist:  # FAISS' own advice; more only costs training time
        sample = vectors[np.random.default_rng(seed).choice(n, 64 * nlist, replace=False)]
    ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
    return ivf
