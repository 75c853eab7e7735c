"""The paradigm's three components as building blocks the losses switch on (method.md §2, §5).

Every loss studied has, for an anchor ``h_i`` (gradient taken on the sphere's tangent space)::

    ∂L/∂h_i = factor · GD_i · Σ_{j≠i} W_ij · (h'_j − R_i · h'_i)

* **GD** (gradient dissipation), a per-anchor gate: :func:`margin_gate`, :func:`soft_gate`,
  :func:`same_view_gate`, :func:`detach_closed_rows`.
* **W** (weight), a distribution over negatives (zero diagonal): :func:`softmax_over_negatives`,
  :func:`power_over_negatives`, :func:`uniform_over_negatives`, :func:`one_hot_hardest`,
  :func:`global_offdiag_softmax`, :func:`pair_energy_share`.
* **R** (ratio), the scale of the pull to the positive against the push from negatives:
  :func:`push_rows` and :func:`pull_rows` build a loss whose gradient is exactly the paradigm with
  the given W and R (negatives behind a stop-gradient, the positive not).

:class:`Components` is the closed-form description one loss returns for a batch.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .geometry import diagonal_mask, fill_diagonal, hardest_negative, pair_logsumexp


class Components(NamedTuple):
    """Closed-form paradigm components for one direction (view-0 anchors, view-1 candidates).

    ``gd [N]``, ``weight [N, N]`` (zero diagonal), ``ratio [N]`` and the scalar ``factor`` such that
    the anchor gradient is ``factor * gd_i * Σ_j weight_ij (h'_j − ratio_i h'_i)`` (tangent part).
    ``factor`` includes the 1/N of the batch mean, which method.md's table leaves out.
    """

    gd: Tensor
    weight: Tensor
    ratio: Tensor
    factor: float


# ----------------------------------------------------------------------------------------------- GD
def margin_gate(gap: Tensor, m: float) -> Tensor:
    """Open (True) while the positive's lead over the hardest negative, ``gap``, is below ``m``."""
    return gap < m


def soft_gate(sim: Tensor, positive_logit: Tensor, tau: float) -> Tensor:
    """InfoNCE's GD ``1 − p_ii = 1 / (1 + e^{pos_i/τ} / Σ_{j≠i} e^{s_ij/τ})`` (method.md §2 table),
    with ``pos_i`` the positive's logit before division by τ (``s_ii``; ArcCon: ``cos(θ_ii + u)``).

    Computed stably as ``sigmoid(LSE_{j≠i}(s_ij/τ) − pos_i/τ)``."""
    negatives = torch.logsumexp(fill_diagonal(sim / tau, float("-inf")), dim=1)
    return torch.sigmoid(negatives - positive_logit / tau)


def same_view_gate(e: Tensor, m: float) -> Tensor:
    """Non-contrastive GD gate of one view (method.md §5): ``(1 − max_{j≠i} e_i·e_j) < m``.

    Computed without gradient. The official code uses ``e_i·e_i`` (1 up to rounding) for the 1.
    """
    with torch.no_grad():
        nearest, _ = hardest_negative(e @ e.T)
        return margin_gate(1.0 - nearest, m)


def detach_closed_rows(e: Tensor, gate: Tensor) -> Tensor:
    """Rows with a closed gate replaced by their detached copy: no gradient flows through them in
    any role (anchor, negative, positive).  ``torch.where`` keeps the result on the graph even when
    every gate is closed, so ``backward`` gives zero gradients rather than an error."""
    return torch.where(gate[:, None], e, e.detach())


# ------------------------------------------------------------------------------------------------ W
def softmax_over_negatives(sim: Tensor, tau: float) -> Tensor:
    """``W_ij = exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ)`` for j ≠ i, 0 on the diagonal (stable)."""
    return torch.softmax(fill_diagonal(sim / tau, float("-inf")), dim=1)


def power_over_negatives(sim: Tensor, power: int) -> Tensor:
    """``W_ij ∝ max(s_ij, 1e-4)^power`` over j ≠ i (power 0: uniform); the official code's
    alternative to the softmax weight."""
    w = fill_diagonal(sim.clamp_min(1e-4).pow(power), 0.0)
    # a large power can underflow a whole row to 0: it then gets W = 0 rather than 0/0 = NaN
    return w / w.sum(1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)


def uniform_over_negatives(sim: Tensor) -> Tensor:
    """``W_ij = 1/(N−1)`` for j ≠ i (no preference for hard negatives)."""
    n = sim.shape[0]
    return fill_diagonal(torch.full_like(sim, 1.0 / (n - 1)), 0.0)


def one_hot_hardest(sim: Tensor, index: Tensor, magnitude: Tensor | None = None) -> Tensor:
    """``W_i· = magnitude_i`` at column ``index_i`` (the hardest negative), 0 elsewhere."""
    values = torch.ones_like(sim[:, :1]) if magnitude is None else magnitude[:, None]
    return torch.zeros_like(sim).scatter(1, index[:, None], values)


def global_offdiag_softmax(sim: Tensor, tau: float) -> Tensor:
    """``W_ij = exp(s_ij/τ) / Σ_{k≠l} exp(s_kl/τ)``: one normalisation over every off-diagonal entry
    of the batch (method.md §5, mod Barlow Twins / VICReg); diagonal 0."""
    logits = fill_diagonal(sim / tau, float("-inf"))
    return torch.exp(logits - torch.logsumexp(logits.flatten(), dim=0))


def pair_energy_share(sim: Tensor, tau: float) -> Tensor:
    """Per-anchor push mass of the pairwise ``LSE_{k<l}(s_kl/τ)`` (mod MHE, method.md §5):
    ``a_i = (1/τ) Σ_{j≠i} exp(s_ij/τ) / Σ_{k<l} exp(s_kl/τ)``, the anchor's share of the energy.
    """
    logits = sim / tau
    row = torch.logsumexp(fill_diagonal(logits, float("-inf")), dim=1)
    return torch.exp(row - pair_logsumexp(logits)) / tau


# ------------------------------------------------------------------------------------------------ R
def push_rows(anchors: Tensor, negatives: Tensor, weight: Tensor) -> Tensor:
    """``Σ_j W_ij (a_i · sg(n_j))`` per anchor: the push; gradient ``Σ_j W_ij n_j`` on a_i only."""
    return (weight * (anchors @ negatives.detach().T)).sum(1)


def pull_rows(anchors: Tensor, positives: Tensor, weight_sum: Tensor, r: Tensor | float) -> Tensor:
    """``r · (Σ_j W_ij) · (a_i · p_i)`` per anchor, no stop-gradient: subtracting it from the push
    makes the anchor gradient ``Σ_j W_ij (n_j − r p_i)``, the paradigm with ratio ``r``."""
    return r * weight_sum * (anchors * positives).sum(1)


def offdiag_row_sum(weight: Tensor) -> Tensor:
    """``Σ_{j≠i} W_ij`` per row."""
    return weight.masked_fill(diagonal_mask(weight.shape[0], weight.device), 0.0).sum(1)
