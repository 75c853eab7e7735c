"""The two views of every training sentence, tokenized once and cached on disk (Arrow).

A views folder (``results/views/{model}/{key}/``, key from :func:`settings.views_key`) holds:

* an Arrow dataset (``datasets.Dataset.save_to_disk``) with ``input_ids_0`` and ``input_ids_1``
  (int32 token ids, truncated to ``max_length``, special tokens included, no padding);
* ``views.json``: what made it (tokenizer source, max length, augmentation, seed, corpus sha256,
  counts, pad id, the model's input names).

The trainer pads each batch to its longest row (dynamic padding, as SimCSE's collator) and feeds
both views in one forward pass, interleaved ``[s0 view0, s0 view1, s1 view0, ...]`` as the
official code's ``(batch, 2, len) -> (2·batch, len)`` reshape does.

Augmentations (:class:`~gradparadigm.training.settings.AugmentSettings`): ``dropout`` (identical
views: the paper's), ``word_deletion`` and ``token_shuffle``. Discrete augmentations are drawn once,
here, from the seed, so the views of a sentence are fixed for the whole run (one epoch in the
paper's protocol).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from gradparadigm.data.text import read_lines
from gradparadigm.errors import DataFormatError, ModelLoadError
from gradparadigm.fileio import atomic_path, remove_stale_temporaries, sha256_file
from gradparadigm.training.settings import VIEWS_FORMAT, AugmentSettings, views_key

log = logging.getLogger(__name__)

META_FILE = "views.json"
COLUMNS = ("input_ids_0", "input_ids_1")
_CHUNK = 8192


def delete_words(text: str, rate: float, rng: np.random.Generator) -> str:
    """Drop each whitespace-separated word with probability ``rate``; at least one word stays."""
    words = text.split()
    if len(words) <= 1 or rate <= 0:
        return " ".join(words)
    keep = rng.random(len(words)) >= rate
    if not keep.any():
        keep[rng.integers(len(words))] = True
    return " ".join(w for w, k in zip(words, keep) if k)


def shuffle_tokens(ids: Sequence[int], special: Sequence[int], rate: float, rng: np.random.Generator) -> list[int]:
    """Permute a share ``rate`` of the non-special positions of ``ids`` among themselves.

    ``special[k]`` is 1 for special tokens ([CLS], [SEP], <s>, </s>), which keep their place. The
    multiset of tokens is unchanged; ``rate`` 1 shuffles every ordinary token (ConSERT's shuffle).
    """
    ids = list(ids)
    positions = np.flatnonzero(np.asarray(special) == 0)
    count = int(round(rate * len(positions)))
    if count < 2:
        return ids
    chosen = rng.choice(positions, size=count, replace=False)
    permuted = rng.permutation(chosen)
    values = [ids[p] for p in permuted]
    for p, v in zip(chosen, values):
        ids[p] = v
    return ids


def read_corpus(path: str | Path) -> list[str]:
    """One sentence per line (the trailing newline removed; blank lines skipped, with a warning)."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "corpus file does not exist")
    lines = [] if path.stat().st_size == 0 else read_lines(path, "utf-8")  # a bad byte names file and line
    sentences = [line for line in lines if line.strip()]
    if len(sentences) < len(lines):
        log.warning("%s: skipped %d blank line(s)", path, len(lines) - len(sentences))
    if len(sentences) < 2:
        raise DataFormatError(path, f"a training corpus needs at least 2 sentences, found {len(sentences)}")
    return sentences


def make_views(
    sentences: list[str], tokenizer, max_length: int, augment: AugmentSettings, seed: int, progress: bool = True
) -> dict[str, list[list[int]]]:
    """Token ids of both views of every sentence (lists of ints, truncated, with special tokens)."""
    columns: dict[str, list[list[int]]] = {name: [] for name in COLUMNS}
    for view, name in enumerate(COLUMNS):
        rng = np.random.default_rng([seed, view])  # one stream per view: views are independent
        bar = tqdm(total=len(sentences), desc=f"view {view}", unit="sent", disable=not progress, mininterval=5)
        for start in range(0, len(sentences), _CHUNK):
            chunk = sentences[start : start + _CHUNK]
            if augment.strategy == "word_deletion":
                chunk = [delete_words(s, augment.rate, rng) for s in chunk]
            if view == 1 and augment.strategy == "dropout":
                ids = columns[COLUMNS[0]][start : start + len(chunk)]
            else:
                ids = tokenizer(chunk, truncation=True, max_length=max_length)["input_ids"]
            if augment.strategy == "token_shuffle":
                ids = [
                    shuffle_tokens(
                        x, tokenizer.get_special_tokens_mask(x, already_has_special_tokens=True), augment.rate, rng
                    )
                    for x in ids
                ]
            columns[name].extend(list(x) for x in ids)
            bar.update(len(chunk))
        bar.close()
    return columns


def _tokenizer_info(tokenizer) -> dict[str, Any]:
    return {
        "tokenizer_class": type(tokenizer).__name__,
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "model_input_names": list(tokenizer.model_input_names),
    }


def build_views(
    corpus: str | Path,
    model_source: str,
    out_dir: str | Path,
    *,
    max_length: int = 32,
    augment: AugmentSettings | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Tokenize ``corpus`` into the two views and save them at ``out_dir`` (atomically).

    An existing ``out_dir`` made from the same corpus (sha256) and settings is reused as is.
    Returns the metadata (also written to ``out_dir/views.json``).
    """
    from datasets import Dataset, Features, Value
    from datasets import Sequence as DsSequence
    from transformers import AutoTokenizer

    from gradparadigm.encoder import resolve_model_source

    augment = augment or AugmentSettings()
    out_dir = Path(out_dir)
    if not Path(corpus).is_file():
        raise DataFormatError(corpus, "corpus file does not exist")
    corpus_sha = sha256_file(corpus)
    key = views_key(model_source, max_length, augment, seed)
    wanted = {"format": VIEWS_FORMAT, "key": key, "corpus_sha256": corpus_sha}
    existing = _read_meta(out_dir) if (out_dir / META_FILE).is_file() else None
    if existing and all(existing.get(k) == v for k, v in wanted.items()):
        log.info("views at %s are up to date (key %s): reusing them", out_dir, key)
        return existing

    sentences = read_corpus(corpus)
    path = resolve_model_source(model_source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # OSError, ValueError, a tokenizer file that does not parse
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelLoadError(f"could not load the tokenizer of {model_source!r} from {path}: {detail}") from exc
    columns = make_views(sentences, tokenizer, max_length, augment, seed, progress=progress)
    features = Features({name: DsSequence(Value("int32")) for name in COLUMNS})
    dataset = Dataset.from_dict(columns, features=features)
    lengths = np.array([len(x) for x in columns[COLUMNS[0]]])
    meta = {
        **wanted,
        "tokenizer_source": model_source,
        **_tokenizer_info(tokenizer),
        "max_length": max_length,
        "augment": {"strategy": augment.strategy, "rate": augment.rate},
        "seed": seed if augment.seeded else None,
        "corpus": str(Path(corpus).resolve()),
        "n_sentences": len(sentences),
        "at_max_length": int((lengths >= max_length).sum()),  # truncated, or exactly that long
        "mean_tokens_view0": float(lengths.mean()),
        "identical_views": int(sum(a == b for a, b in zip(*columns.values()))),
    }
    remove_stale_temporaries(out_dir)
    with atomic_path(out_dir, is_dir=True) as tmp:
        dataset.save_to_disk(str(tmp / "data"))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    log.info(
        "views of %d sentences (%s, max length %d, %d at the limit) written to %s",
        len(sentences),
        augment.strategy,
        max_length,
        meta["at_max_length"],
        out_dir,
    )
    return meta


def _read_meta(views_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((views_dir / META_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFormatError(views_dir / META_FILE, f"cannot read views metadata: {exc}") from None


def load_views(views_dir: str | Path):
    """``(dataset, meta)`` of a views folder written by :func:`build_views` (memory-mapped)."""
    from datasets import load_from_disk

    views_dir = Path(views_dir)
    if not (views_dir / META_FILE).is_file():
        raise DataFormatError(views_dir, f"not a views folder (no {META_FILE}); run the augment rule first")
    meta = _read_meta(views_dir)
    if meta.get("format") != VIEWS_FORMAT:
        raise DataFormatError(views_dir, f"views format {meta.get('format')} != {VIEWS_FORMAT}; rebuild them")
    return load_from_disk(str(views_dir / "data")), meta


def collate(
    view0: list[list[int]], view1: list[list[int]], pad_id: int, input_names: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Pad both views of a batch to the longest row and interleave them: rows 2i and 2i+1 are
    sentence i's views 0 and 1."""
    rows = [ids for pair in zip(view0, view1) for ids in pair]
    width = max(len(ids) for ids in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, ids in enumerate(rows):
        input_ids[i, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        mask[i, : len(ids)] = 1
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if "token_type_ids" in input_names:
        batch["token_type_ids"] = torch.zeros_like(input_ids)
    return batch
