"""MET: triplet loss with a margin on Euclidean distance.

Formula (method.md §3)::

    d_ij = sqrt(max(2 − 2 s_ij, 1e-4)),
    L = (1/N) Σ_i relu( d_ii − min_{j≠i} d_ij + m ),   m = 0.45

Source: Li, Zhang, Nie, ICLR 2023 (see :mod:`mpt`); paradigm in Li, Zhang, Nie, ACL 2024, §3:
GD = 1[d_ij* − d_ii < m], W one-hot at j* with magnitude 1/d_ij*, R = d_ij*/d_ii, factor = 1/N.
"""

from __future__ import annotations

from torch import Tensor

from .base import register
from .geometry import clamped_sqrt
from .hardest_margin import HardestNegativeMargin


def euclidean_distance(sim: Tensor) -> Tensor:
    """``d = sqrt(max(2 − 2s, 1e-4))``: the distance of two unit vectors with cosine ``s``."""
    return clamped_sqrt(2.0 - 2.0 * sim, 1e-4)


def euclidean_slope(sim: Tensor) -> Tensor:
    """``−dd/ds = 1/d`` (MET's R_i = slope_ii / slope_ij* = d_ij* / d_ii)."""
    return 1.0 / euclidean_distance(sim)


@register
class MET(HardestNegativeMargin):
    """Margin on Euclidean distance between unit vectors (hyperparameter ``m``, default 0.45)."""

    name = "met"
    defaults = {"m": 0.45}

    def distance(self, sim: Tensor) -> Tensor:
        return euclidean_distance(sim)

    def distance_slope(self, sim: Tensor) -> Tensor:
        return euclidean_slope(sim)
