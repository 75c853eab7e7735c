"""Shared fixtures of the transfer-task tests: a tiny deterministic encoder."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

# The ``downstream`` fixture (the data mirror, skipped without it) comes from tests/conftest.py.


class BagOfWordsEncoder:
    """A fixed random projection of hashed bag-of-words counts: deterministic, instant, and word-sensitive."""

    def __init__(self, dim: int = 32, buckets: int = 4096, seed: int = 0):
        self.projection = np.random.default_rng(seed).normal(size=(buckets, dim)).astype(np.float32)
        self.buckets = buckets
        self.calls = 0
        self.sentences_seen = 0

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.lower().encode(), digest_size=4).digest(), "little") % self.buckets

    def __call__(self, sentences: list[str]) -> np.ndarray:
        self.calls += 1
        self.sentences_seen += len(sentences)
        counts = np.zeros((len(sentences), self.buckets), dtype=np.float32)
        for i, sentence in enumerate(sentences):
            for word in sentence.split():
                counts[i, self._bucket(word)] += 1.0
        return counts @ self.projection


@pytest.fixture()
def make_encoder():
    """A factory of fresh :class:`BagOfWordsEncoder` (each counts its own calls)."""
    return BagOfWordsEncoder


@pytest.fixture(autouse=True, scope="module")  # module scope: other test folders keep their settings
def _one_torch_thread():
    """Tiny tensors and matrices: one thread (torch and BLAS) is faster, and keeps a shared 2-core machine usable."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)
