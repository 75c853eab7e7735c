"""A disk cache of sentence embeddings per (encoder, task), so that re-running a classifier does not re-encode.

An entry is keyed by the caller's encoder *fingerprint* (it must change whenever the vectors would:
model path, pooler, a hash of the weights) together with the task name and the exact list of
sentences; a changed encoder or changed data never reuses stale vectors. Entries are written
atomically (:mod:`gradparadigm.fileio`): ``<task>-<key>.npy`` holds the float32 matrix, one row per
sentence, and ``<task>-<key>.json`` says what it is.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from gradparadigm.fileio import atomic_path, write_json_atomic

logger = logging.getLogger(__name__)

Encode = Callable[[list[str]], np.ndarray]


def cache_key(fingerprint: str, task: str, sentences: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in (fingerprint, task, str(len(sentences))):
        digest.update(part.encode("utf-8") + b"\0")
    for sentence in sentences:
        digest.update(sentence.encode("utf-8") + b"\n")
    return digest.hexdigest()[:24]


def encode_checked(encode: Encode, sentences: list[str]) -> np.ndarray:
    """Call ``encode`` and insist on one finite float row per sentence."""
    vectors = np.asarray(encode(sentences), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(sentences):
        raise ValueError(
            f"encode returned shape {vectors.shape} for {len(sentences)} sentences; expected (n_sentences, dim)"
        )
    if not np.isfinite(vectors).all():
        raise ValueError("encode returned non-finite values")
    return vectors


class EmbeddingCache:
    """Embeddings on disk under ``folder``, keyed by ``fingerprint``; see the module docstring."""

    def __init__(self, folder: str | Path, fingerprint: str):
        if not fingerprint:
            raise ValueError("an embedding cache needs a non-empty encoder fingerprint")
        self.folder = Path(folder)
        self.fingerprint = fingerprint

    def path(self, task: str, sentences: Sequence[str]) -> Path:
        return self.folder / f"{task}-{cache_key(self.fingerprint, task, sentences)}.npy"

    def load(self, task: str, sentences: Sequence[str]) -> np.ndarray | None:
        path = self.path(task, sentences)
        if not path.is_file():
            return None
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable embedding cache %s (%s)", path, exc)
            return None
        if vectors.ndim != 2 or vectors.shape[0] != len(sentences):
            logger.warning(
                "ignoring embedding cache %s: shape %s for %d sentences", path, vectors.shape, len(sentences)
            )
            return None
        return vectors

    def save(self, task: str, sentences: Sequence[str], vectors: np.ndarray) -> Path:
        path = self.path(task, sentences)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
        write_json_atomic(
            path.with_suffix(".json"),
            {
                "fingerprint": self.fingerprint,
                "task": task,
                "n_sentences": int(vectors.shape[0]),
                "dim": int(vectors.shape[1]),
                "dtype": "float32",
            },
        )
        return path

    def get_or_encode(self, task: str, sentences: list[str], encode: Encode) -> tuple[np.ndarray, bool]:
        """The embeddings of ``sentences`` (from disk if there) and whether they came from the cache."""
        vectors = self.load(task, sentences)
        if vectors is not None:
            logger.info("%s: %d embeddings from cache %s", task, len(sentences), self.path(task, sentences))
            return vectors, True
        vectors = encode_checked(encode, sentences)
        self.save(task, sentences, vectors)
        return vectors, False


def embed_sentences(
    task: str, sentences: list[str], encode: Encode, cache: EmbeddingCache | None
) -> tuple[np.ndarray, bool]:
    """Encode each distinct sentence once (through the cache when there is one); rows follow ``sentences``.

    The distinct sentences are sorted, so the cache entry does not depend on the rows' order.
    """
    unique = sorted(set(sentences))
    if cache is None:
        vectors, cached = encode_checked(encode, unique), False
    else:
        vectors, cached = cache.get_or_encode(task, unique, encode)
    position = {sentence: i for i, sentence in enumerate(unique)}
    return vectors[[position[s] for s in sentences]], cached
