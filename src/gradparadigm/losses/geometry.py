"""Numerically safe geometry on the unit sphere, shared by every loss.

Conventions (method.md §1): ``e0``/``e1`` are the L2-normalised views, ``sim = e_a @ e_bᵀ`` a cosine
matrix whose row ``i`` belongs to anchor ``i`` and whose diagonal holds the positives.  The diagonal
is always *excluded with a mask* (``masked_fill`` with ±inf or 0), never by multiplying the
cosine by 0: a zeroed cosine is a legitimate similarity and could be picked as the "hardest
negative".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# arccos'(x) = -1/sqrt(1 - x²) is infinite at ±1; the clamp keeps it finite (and zero through the
# clamp for |x| beyond the bound, e.g. identical embeddings).  One bound per working precision.
_ARCCOS_EPS = {torch.float32: 1e-7, torch.float64: 1e-12}


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; everything else (bf16, fp16, fp32) is computed in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def normalize(z: Tensor) -> Tensor:
    """Rows of ``z`` scaled to unit L2 norm in the working precision (zero rows stay zero)."""
    return F.normalize(z.to(working_dtype(z.dtype)), dim=-1)


def normalize_pair(z0: Tensor, z1: Tensor) -> tuple[Tensor, Tensor]:
    """Both views normalised in one common working precision (float64 if either is float64)."""
    dtype = working_dtype(torch.promote_types(z0.dtype, z1.dtype))
    return normalize(z0.to(dtype)), normalize(z1.to(dtype))


def diagonal_mask(n: int, device: torch.device | str | None = None) -> Tensor:
    """Boolean ``[n, n]`` mask, True on the diagonal (positives / self-pairs)."""
    return torch.eye(n, dtype=torch.bool, device=device)


def offdiag_mask(n: int, device: torch.device | str | None = None) -> Tensor:
    """Boolean ``[n, n]`` mask, True off the diagonal (negatives / other-pairs)."""
    return ~diagonal_mask(n, device)


def fill_diagonal(matrix: Tensor, value: float) -> Tensor:
    """Copy of a square ``matrix`` with its diagonal set to ``value`` (differentiable elsewhere)."""
    return matrix.masked_fill(diagonal_mask(matrix.shape[0], matrix.device), value)


def hardest_negative(sim: Tensor) -> tuple[Tensor, Tensor]:
    """Row-wise max over j != i of a similarity matrix: ``(values [N], indices j* [N])``."""
    return fill_diagonal(sim, float("-inf")).max(dim=1)


def nearest_negative(dist: Tensor) -> tuple[Tensor, Tensor]:
    """Row-wise min over j != i of a distance matrix: ``(values [N], indices j* [N])``."""
    return fill_diagonal(dist, float("inf")).min(dim=1)


def safe_arccos(x: Tensor) -> Tensor:
    """``arccos`` of ``x`` clamped to ``[-1 + eps, 1 - eps]`` (finite value and gradient)."""
    eps = _ARCCOS_EPS[working_dtype(x.dtype)]
    return torch.arccos(x.clamp(-1.0 + eps, 1.0 - eps))


def clamped_sqrt(x: Tensor, min_value: float) -> Tensor:
    """``sqrt(max(x, min_value))``: finite gradient, zero gradient where the clamp is active."""
    return x.clamp_min(min_value).sqrt()


def pair_logsumexp(sim: Tensor) -> Tensor:
    """Log-sum-exp over the N(N-1)/2 unordered pairs i < j of a symmetric ``[N, N]`` matrix."""
    n = sim.shape[0]
    upper = torch.ones(n, n, dtype=torch.bool, device=sim.device).triu(diagonal=1)
    return torch.logsumexp(sim[upper], dim=0)


def pairwise_distance(x: Tensor, y: Tensor, eps: float) -> Tensor:
    """``[N, M]`` matrix of ``sqrt(||x_i - y_j||² + eps)`` via the Gram identity (no [N, M, D]).

    The squared distance is clamped at 0 before ``eps`` is added: rounding can't make it negative.
    Its gradient equals that of the direct ``(x_i - y_j).pow(2).sum()`` form.
    """
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return (sq.clamp_min(0.0) + eps).sqrt()


def squared_distance_rows(a: Tensor, b: Tensor) -> Tensor:
    """``||a_i - b_i||²`` per row (alignment; equals ``2 - 2 a_i·b_i`` on the sphere)."""
    return (a - b).pow(2).sum(1)


def tangent_project(grad: Tensor, at: Tensor) -> Tensor:
    """Remove from each row of ``grad`` its component along the unit vector ``at_i`` (tangent)."""
    return grad - (grad * at).sum(1, keepdim=True) * at
