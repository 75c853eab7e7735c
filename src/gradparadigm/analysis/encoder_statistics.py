"""The official ``statistics.py`` quantities, on one saved encoder and a seeded corpus sample.

Given an encoder folder (or any model source) and the training corpus, :func:`encoder_statistics`
draws ``n_sentences`` distinct sentences with ``numpy.random.default_rng(seed)``, cuts them into
full batches of the training batch size (a remainder is dropped, as the official code does) and
encodes each batch as training does: both views of every sentence in one forward pass in **train
mode** (dropout on, drawn from a generator seeded with ``seed``), tokens truncated at the training
``max_length``, rows interleaved (:func:`gradparadigm.training.views.collate`, the trainer's
``forward_views``). A saved encoder has no training head, so the statistics are taken on the pooled
vectors, the ones evaluation uses (the official code's ``sent_emb`` output). With ``e0``/``e1`` the
normalised views (view 0 anchors, view 1 candidates) and ``s_ij = e0_i · e1_j``:

* ``pos_cos``, ``neg_cos_mean``, ``neg_cos_hardest``, ``gap``, ``alignment`` (α = 2),
  ``uniformity`` (t = 2): :func:`gradparadigm.training.diagnostics.batch_statistics` per batch,
  averaged over the batches (the numbers the training log has, on unseen draws);
* per margin ``m`` (``margins``), the official mask: anchors whose gap ``s_ii − max_{j≠i} s_ij``
  is below ``m``; over the masked anchors of all batches (pooled, as the official code concatenates):

  - ``w_hardest_share[τ]``: the hardest negative's share of InfoNCE's softmax weight at
    temperature τ, ``W_ij* / Σ_{j≠i} W_ij`` (``closed_form_components("infonce", tau=τ)``; the
    coefficient share the training log reports, where the official code projects weighted vectors);
  - ``ratio[loss]``: the dynamic ratio R_i of ArcCon (``sin(θ_ii + u)/sin θ_ii``), MET
    (``d_ij*/d_ii``) and MAT (``sin θ_ij*/sin θ_ii``), each from that loss's closed form
    (``closed_form_components``; ArcCon's ``u`` from ``loss_args``, default π/18).

Values are ``None`` where no anchor is masked. The sample, its seed and every setting are in the
result, so equal inputs give equal numbers (on CPU, at equal thread counts).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gradparadigm.errors import ConfigError
from gradparadigm.losses import closed_form_components, resolve_hparams
from gradparadigm.losses.components import margin_gate
from gradparadigm.losses.geometry import hardest_negative, normalize_pair

log = logging.getLogger(__name__)

DEFAULT_TAUS = (0.3, 0.1, 0.05, 0.03, 0.01, 0.005)  # the paper's W figure (official simulation.py)
DEFAULT_MARGINS = (0.3,)  # sg's default margin m (the empirical study's)
RATIO_LOSSES = ("arccon", "met", "mat")
BATCH_KEYS = ("pos_cos", "neg_cos_mean", "neg_cos_hardest", "gap", "alignment", "uniformity")


def sample_sentences(sentences: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` distinct sentences (by position) drawn with ``default_rng(seed)``, in draw order."""
    index = np.random.default_rng(seed).choice(len(sentences), size=min(n, len(sentences)), replace=False)
    return [sentences[i] for i in index]


class _Pooled:
    """Sums and counts of per-anchor values over the masked anchors of all batches."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, values: Tensor, mask: Tensor) -> None:
        self.total += values[mask].double().sum().item()
        self.count += int(mask.sum())

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


class MarginStatistics:
    """The masked statistics of one margin ``m``, accumulated batch by batch."""

    def __init__(self, m: float, taus: Sequence[float], ratio_args: Mapping[str, Mapping[str, Any]]):
        self.m, self.taus, self.ratio_args = m, taus, ratio_args
        self.anchors = self.masked = 0
        self.shares = {tau: _Pooled() for tau in taus}
        self.ratios = {name: _Pooled() for name in ratio_args}

    def add(self, z0: Tensor, z1: Tensor) -> None:
        e0, e1 = normalize_pair(z0, z1)  # float32 at least
        sim = e0 @ e1.T
        hardest, index = hardest_negative(sim)
        mask = margin_gate(sim.diagonal() - hardest, self.m)
        self.anchors += mask.numel()
        self.masked += int(mask.sum())
        for tau in self.taus:
            weight = closed_form_components("infonce", e0, e1, tau=tau).weight
            self.shares[tau].add(weight.gather(1, index[:, None]).squeeze(1) / weight.sum(1), mask)
        for name, args in self.ratio_args.items():
            self.ratios[name].add(closed_form_components(name, e0, e1, **args).ratio, mask)

    def result(self) -> dict[str, Any]:
        return {
            "m": self.m,
            "masked_frac": self.masked / self.anchors if self.anchors else None,
            "w_hardest_share": {f"{tau:g}": pooled.mean() for tau, pooled in self.shares.items()},
            "ratio": {name: pooled.mean() for name, pooled in self.ratios.items()},
        }


def _check(n_sentences: int, batch_size: int, available: int, corpus: str | Path) -> int:
    if batch_size < 2:
        raise ConfigError("train.batch_size", f"must be >= 2 (in-batch negatives), got {batch_size}")
    n = min(n_sentences, available)
    if n < n_sentences:
        log.warning(
            "%s has %d sentences, fewer than the %d asked for: using all of them", corpus, available, n_sentences
        )
    if n < batch_size:
        raise ConfigError("statistics.n_sentences", f"{n} sentence(s) do not fill one batch of {batch_size}")
    return n


@torch.no_grad()
def encoder_statistics(
    model_source: str,
    corpus: str | Path,
    *,
    n_sentences: int = 1024,
    batch_size: int = 64,
    max_length: int = 32,
    seed: int = 0,
    pooler: str | None = None,
    taus: Iterable[float] = DEFAULT_TAUS,
    margins: Iterable[float] = DEFAULT_MARGINS,
    loss_args: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "auto",
    progress: bool = True,
) -> dict[str, Any]:
    """The statistics of the module docstring as a JSON-ready dict (see ``docs/training.md``).

    ``loss_args``: hyperparameters of the ratio losses, e.g. ``{"arccon": {"u": 0.2}}`` (their
    defaults otherwise). ``pooler`` None: the folder's recorded pooler, else ``cls``.
    """
    from gradparadigm.encoder import load_encoder
    from gradparadigm.training.diagnostics import batch_statistics
    from gradparadigm.training.dynamics import cuda_devices
    from gradparadigm.training.trainer import ContrastiveModel, forward_views
    from gradparadigm.training.views import collate, read_corpus

    taus, margins = tuple(float(t) for t in taus), tuple(float(m) for m in margins)
    ratio_args = {name: dict((loss_args or {}).get(name) or {}) for name in RATIO_LOSSES}
    for name in RATIO_LOSSES:  # a bad hyperparameter fails before the model loads
        try:
            ratio_args[name] = resolve_hparams(name, **ratio_args[name])
        except ValueError as exc:
            raise ConfigError(f"statistics loss_args.{name}", str(exc)) from None
    sentences = read_corpus(corpus)
    n = _check(n_sentences, batch_size, len(sentences), corpus)
    sample = sample_sentences(sentences, n, seed)
    encoder = load_encoder(model_source, pooler, device=device, max_length=max_length)
    model = ContrastiveModel(encoder.model, encoder.pooler, nn.Identity()).train()  # dropout on, as in training
    tokenizer = encoder.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = tokenizer(sample, truncation=True, max_length=encoder.max_length)["input_ids"]

    start = time.perf_counter()
    n_batches = n // batch_size
    sums = dict.fromkeys(BATCH_KEYS, 0.0)
    by_margin = [MarginStatistics(m, taus, ratio_args) for m in margins]
    with torch.random.fork_rng(devices=cuda_devices(encoder.device)):  # seeded dropout; the caller's RNG untouched
        torch.manual_seed(seed)
        for b in tqdm(range(n_batches), desc="statistics", unit="batch", disable=not progress, mininterval=5):
            rows = ids[b * batch_size : (b + 1) * batch_size]
            batch = {
                k: v.to(encoder.device) for k, v in collate(rows, rows, pad_id, tokenizer.model_input_names).items()
            }
            _, z0, z1 = forward_views(model, batch, bf16=False)
            stats = batch_statistics(z0, z1)
            for key in BATCH_KEYS:
                sums[key] += stats[key]
            for margin in by_margin:
                margin.add(z0, z1)
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {key: sums[key] / n_batches for key in BATCH_KEYS}
    result["by_margin"] = [margin.result() for margin in by_margin]
    result["sample"] = {
        "corpus": str(Path(corpus)),
        "corpus_sentences": len(sentences),
        "n_sentences": n,
        "sentences_used": n_batches * batch_size,
        "batch_size": batch_size,
        "n_batches": n_batches,
        "seed": seed,
        "max_length": encoder.max_length,
    }
    result["settings"] = {
        "model_source": model_source,
        "pooler": encoder.pooler,
        "taus": list(taus),
        "margins": list(margins),
        "loss_args": ratio_args,
        "seconds": round(seconds, 2),
    }
    for key, value in result.items():
        if isinstance(value, float) and not math.isfinite(value):
            result[key] = None
    return result
