"""Shared template of the triplet-style losses MPT, MET and MAT (method.md §3).

With a distance ``f(s)`` that decreases with the cosine ``s``::

    L = (1/N) Σ_i relu( f(s_ii) − min_{j≠i} f(s_ij) + margin )

The hardest negative j* is taken with the diagonal masked to +inf.  Its gradient on anchor h_i is
``(1/N) · 1[f(s_ij*) − f(s_ii) < margin] · g(s_ij*) · (h'_j* − (g(s_ii)/g(s_ij*)) h'_i)`` with
``g = −f'`` (:meth:`HardestNegativeMargin.distance_slope`): GD is the hinge's gate, W is one-hot at
j* with magnitude g(s_ij*), R = g(s_ii)/g(s_ij*).  The closed form assumes the distance's own clamp
(MET: 2−2s >= 1e-4; MAT: |s| <= 1−ε) is inactive at i and j*, which holds unless an embedding
coincides with its positive or hardest negative.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .base import PairLoss
from .components import Components, margin_gate, one_hot_hardest
from .geometry import nearest_negative


def slope_ratio(slope: Tensor, hardest: Tensor) -> Tensor:
    """``R_i = g(s_ii) / g(s_ij*)`` from the slopes ``g = −f'`` ``[N, N]`` and the hardest index j*."""
    return slope.diagonal() / slope.gather(1, hardest[:, None]).squeeze(1)


class HardestNegativeMargin(PairLoss):
    """Base class: subclasses define :meth:`distance`, :meth:`distance_slope` and ``margin``."""

    has_closed_form = True

    @property
    def margin(self) -> float:
        return self.m

    def distance(self, sim: Tensor) -> Tensor:
        raise NotImplementedError

    def distance_slope(self, sim: Tensor) -> Tensor:
        """``−d distance / d s`` (positive)."""
        raise NotImplementedError

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        dist = self.distance(e0 @ e1.T)
        nearest, _ = nearest_negative(dist)
        return F.relu(dist.diagonal() - nearest + self.margin).mean()

    def components(self, e0: Tensor, e1: Tensor) -> Components:
        sim = e0 @ e1.T
        dist = self.distance(sim)
        nearest, hardest = nearest_negative(dist)
        slope = self.distance_slope(sim)
        slope_hardest = slope.gather(1, hardest[:, None]).squeeze(1)
        gd = margin_gate(nearest - dist.diagonal(), self.margin).to(sim.dtype)
        weight = one_hot_hardest(sim, hardest, slope_hardest)
        return Components(gd, weight, slope_ratio(slope, hardest), 1.0 / sim.shape[0])
