"""MAT: triplet loss with a margin on the angle.

Formula (method.md §3)::

    θ_ij = arccos(clamp(s_ij)),
    L = (1/N) Σ_i relu( θ_ii − min_{j≠i} θ_ij + m·π ),   m = 0.15

Source: Li, Zhang, Nie, ICLR 2023 (see :mod:`mpt`); paradigm in Li, Zhang, Nie, ACL 2024, §3:
GD = 1[θ_ij* − θ_ii < m·π], W one-hot at j* with magnitude 1/sin θ_ij*, R = sin θ_ij*/sin θ_ii,
factor = 1/N.

Departure from the official code: cosines are clamped to [−1+ε, 1−ε] before ``arccos``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import register
from .geometry import safe_arccos
from .hardest_margin import HardestNegativeMargin


def angular_slope(sim: Tensor) -> Tensor:
    """``−dθ/ds = 1/sin θ`` (MAT's R_i = slope_ii / slope_ij* = sin θ_ij* / sin θ_ii)."""
    return 1.0 / torch.sin(safe_arccos(sim))


@register
class MAT(HardestNegativeMargin):
    """Margin on the angle, in units of π (hyperparameter ``m``, default 0.15, i.e. 27°)."""

    name = "mat"
    defaults = {"m": 0.15}

    @property
    def margin(self) -> float:
        return self.m * math.pi

    def distance(self, sim: Tensor) -> Tensor:
        return safe_arccos(sim)

    def distance_slope(self, sim: Tensor) -> Tensor:
        return angular_slope(sim)
