"""Simulations of the gradient components over angle grids (the paper's §3.1; method.md §8).

Each anchor sees one positive at angle θ_pos and K = batch_size − 1 negatives at angles θ_neg
(θ = arccos of the cosine similarity). The angles are random: θ_pos ~ N(μ_pos, pos_std) and each
θ_neg ~ N(μ_neg, neg_std), as in the official ``simulation.py``. Three instruments:

* :func:`gd_grid`: the mean **gradient dissipation** GD of a loss over a grid of (μ_pos, μ_neg):
  InfoNCE and ArcCon have the soft gate ``1/(1 + e^{c(θ_pos)/τ} / Σ_k e^{cos θ_k/τ})`` (ArcCon:
  ``c(θ) = cos(θ + u)``); MPT, MET and MAT the hard gate ``1[d(hardest) − d(pos) < margin]`` with the
  distance d = −cosine (MPT), √(2 − 2 cos) (MET) or the angle (MAT, margin m·π).
* :func:`weight_curves`: the hardest negative's share of the softmax weight,
  ``max_k e^{cos θ_k/τ} / Σ_k e^{cos θ_k/τ}``, against μ_neg for several τ, averaged over the
  batches whose InfoNCE gate is at least ``gd_threshold`` (batches without a gradient do not count).
* :func:`ratio_maps`: the **ratio** R as a function of (θ_pos, θ_hardest) for ArcCon
  (sin(θ_pos + u)/sin θ_pos), MET (√(2 − 2 cos θ_neg)/√(2 − 2 cos θ_pos)) and MAT
  (sin θ_neg/sin θ_pos), with the mask of the official code: the cells where the positive is
  farther than the negative, or the loss's gate is closed (ArcCon: GD < ``gd_threshold`` with every
  negative at θ_neg).

These are the same closed forms as the loss modules (``losses/{infonce,arccon,mpt,met,mat}.py``);
``tests/unit/analysis`` checks them against those modules' ``components()`` on real embeddings.

Vectorised with common random numbers: the standard-normal draws z_pos [B] and z_neg [B, K] are drawn
once (seeded) and every grid cell uses θ = μ + σ·z. Positives and negatives are independent, so the
per-batch terms of the positive (one per μ_pos) and of the negatives (one per μ_neg) are computed
once and combined by broadcasting: the 100 × 100 grid with 1,000 batches of 128 costs seconds where
the official loops take minutes. Each cell's estimate has the same distribution as the official
one (fresh draws per cell); neighbouring cells are correlated, which makes the maps smoother.

Departure from the official code: MAT's angles are the geometric angles arccos(cos θ) in [0, π] (the
loss sees only cosines), where the official simulation compares the raw draws, which can fall below
0 or above π at the grid's edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.special import expit, logsumexp

from gradparadigm.losses import resolve_hparams

GD_LOSSES = ("infonce", "arccon", "mpt", "met", "mat")
RATIO_LOSSES = ("arccon", "met", "mat")
SOFT_GATE = ("infonce", "arccon")
_MET_EPS = 1e-8  # as the official simulation: √(2 − 2 cos θ + 1e-8)


@dataclass(frozen=True)
class Draws:
    """Standard-normal draws shared by every grid cell: ``pos`` [B], ``neg`` [B, K]."""

    pos: np.ndarray
    neg: np.ndarray

    @classmethod
    def sample(cls, seed: int, batches: int, batch_size: int) -> "Draws":
        if batch_size < 2:
            raise ValueError(f"batch_size must be at least 2 (one positive and a negative), got {batch_size}")
        if batches < 1:
            raise ValueError(f"batches must be at least 1, got {batches}")
        rng = np.random.default_rng(seed)
        return cls(rng.standard_normal(batches), rng.standard_normal((batches, batch_size - 1)))


def angle_grid(lo_pi: float, hi_pi: float, points: int) -> np.ndarray:
    """``points`` evenly spaced angles from lo·π to hi·π (radians), as the official grids."""
    if points < 2:
        raise ValueError(f"a grid needs at least 2 points, got {points}")
    return np.linspace(lo_pi * math.pi, hi_pi * math.pi, points)


def _hparams(loss: str, overrides: Mapping[str, float] | None) -> dict:
    return resolve_hparams(loss, **dict(overrides or {}))


def positive_logit(loss: str, theta: np.ndarray, hp: Mapping[str, float]) -> np.ndarray:
    """The positive's logit before 1/τ: cos θ (InfoNCE) or cos(θ + u) (ArcCon)."""
    return np.cos(theta + hp["u"]) if loss == "arccon" else np.cos(theta)


def distance(loss: str, cos: np.ndarray) -> np.ndarray:
    """The hinge losses' distance, decreasing in the cosine: −cos (MPT), √(2−2cos) (MET), angle (MAT)."""
    if loss == "mpt":
        return -cos
    if loss == "met":
        return np.sqrt(2.0 - 2.0 * cos + _MET_EPS)
    if loss == "mat":
        return np.arccos(np.clip(cos, -1.0, 1.0))
    raise ValueError(f"loss {loss!r} has no hinge distance; hinge losses: mpt, met, mat")


def margin(loss: str, hp: Mapping[str, float]) -> float:
    return hp["m"] * math.pi if loss == "mat" else hp["m"]


def gd_grid(
    loss: str,
    pos_means: np.ndarray,
    neg_means: np.ndarray,
    draws: Draws,
    *,
    pos_std: float = 0.05,
    neg_std: float = 0.10,
    hparams: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Mean GD over the batches for every (μ_pos, μ_neg): ``[len(pos_means), len(neg_means)]``."""
    if loss not in GD_LOSSES:
        raise ValueError(f"no GD simulation for loss {loss!r}; valid: {', '.join(GD_LOSSES)}")
    hp = _hparams(loss, hparams)
    theta_pos = pos_means[:, None] + pos_std * draws.pos[None, :]  # [P, B]
    neg_cos = np.cos(neg_means[:, None, None] + neg_std * draws.neg[None])  # [M, B, K]
    if loss in SOFT_GATE:
        tau = hp["tau"]
        pos = positive_logit(loss, theta_pos, hp) / tau  # [P, B]
        neg = logsumexp(neg_cos / tau, axis=2)  # [M, B]
        return expit(neg[None] - pos[:, None]).mean(axis=2)  # 1/(1 + e^{pos}/Σ e^{neg})
    pos_dist = distance(loss, np.cos(theta_pos))  # [P, B]
    hardest_dist = distance(loss, neg_cos.max(axis=2))  # [M, B]: the largest cosine is the nearest
    gate = (hardest_dist[None] - pos_dist[:, None]) < margin(loss, hp)
    return gate.mean(axis=2)


def hardest_share(neg_cos: np.ndarray, tau: float) -> np.ndarray:
    """``max_k e^{c_k/τ} / Σ_k e^{c_k/τ}`` along the last axis."""
    return np.exp(neg_cos.max(axis=-1) / tau - logsumexp(neg_cos / tau, axis=-1))


def weight_curves(
    neg_means: np.ndarray,
    taus: Sequence[float],
    draws: Draws,
    *,
    pos_mean: float = 0.5,
    pos_std: float = 0.05,
    neg_std: float = 0.10,
    gd_threshold: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """``(share [len(taus), M], kept [len(taus), M])``: mean hardest-negative share of W, batches used.

    A batch counts when its InfoNCE gate (same τ) is at least ``gd_threshold``; a cell where no batch
    counts has share NaN (the official code returns 1.0 there).
    """
    pos_cos = np.cos(pos_mean + pos_std * draws.pos)  # [B]
    neg_cos = np.cos(neg_means[:, None, None] + neg_std * draws.neg[None])  # [M, B, K]
    shares, kept = [], []
    for tau in taus:
        if not tau > 0:
            raise ValueError(f"temperatures must be positive, got {tau}")
        lse = logsumexp(neg_cos / tau, axis=2)  # [M, B]: log Σ_k e^{c_k/τ}, for the gate and the share
        use = expit(lse - pos_cos[None] / tau) >= gd_threshold
        share = np.exp(neg_cos.max(axis=2) / tau - lse)  # hardest_share, reusing lse
        count = use.sum(axis=1)
        total = np.where(use, share, 0.0).sum(axis=1)
        shares.append(np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0))
        kept.append(count / use.shape[1])
    return np.array(shares), np.array(kept)


def ratio_map(
    loss: str,
    theta_pos: np.ndarray,
    theta_neg: np.ndarray,
    *,
    batch_size: int = 128,
    gd_threshold: float = 0.01,
    hparams: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(R, masked)`` on the mesh ``theta_pos [P] × theta_neg [M]`` (radians): ``[P, M]`` each."""
    if loss not in RATIO_LOSSES:
        raise ValueError(f"no ratio map for loss {loss!r}; valid: {', '.join(RATIO_LOSSES)}")
    hp = _hparams(loss, hparams)
    ii, ij = np.meshgrid(theta_pos, theta_neg, indexing="ij")
    behind = ii > ij  # the positive is farther than the hardest negative
    if loss == "arccon":
        value = np.sin(ii + hp["u"]) / np.sin(ii)
        tau = hp["tau"]
        gd = expit(np.cos(ij) / tau + math.log(batch_size - 1) - np.cos(ii + hp["u"]) / tau)
        closed = gd < gd_threshold
    else:
        pos_dist, neg_dist = distance(loss, np.cos(ii)), distance(loss, np.cos(ij))
        if loss == "met":
            value = neg_dist / pos_dist
        else:  # mat: d arccos(s)/ds = −1/sin θ, so R = sin θ_neg / sin θ_pos
            value = np.sin(ij) / np.sin(ii)
        closed = neg_dist - pos_dist >= margin(loss, hp)
    return value, behind | closed
