"""Alignment + uniformity with the maximum-hyperspherical-separation uniformity (MHS), ori and mod.

Original (method.md §4), with dist(x, y) = sqrt(||x − y||² + 1e-4)::

    d_0,i = min_{j≠i} dist(e0_i, sg(e1_j)),   d_1,i = min_{j≠i} dist(e1_i, sg(e0_j))
    L = λ [ −mean_i d_0,i − mean_i d_1,i ] + mean_i ||e0_i − e1_i||²,           λ = 1

Modified (method.md §5; λ = 1, m = 0.30, r = 1.75), with w_v,i = 1/d_v,i detached::

    L = λ [ −mean_i d_0,i − mean_i d_1,i ] + mean_i ||e0_i − e1_i||² · r · (w_0,i + w_1,i)/2

The push on e0_i from −d_0,i has magnitude 1/d_0,i (toward its nearest other-view negative), so
the 1/d weights make the pull r times that push: they belong to the ratio component.

Switches: ``gd`` gates the embeddings (uses ``m``); ``ratio`` turns on r·w_v,i (the official code
ties the 1/d weights to its ``w_r`` flag too); ``weight`` is accepted and has **no effect**: the
push is already one-hot on the nearest negative (method.md §5).  λ is 1 in both columns.

Source: Liu et al., "Learning with Hyperspherical Uniformity", AISTATS 2021 (MHS); modification
from Li, Zhang, Nie, ACL 2024, §4; official code ``isotropy/models.py``, branch ``mhs``.
"""

from __future__ import annotations

from torch import Tensor

from .base import GatedPairLoss, register, switch_defaults
from .geometry import nearest_negative, pairwise_distance, squared_distance_rows

_DIST_EPS = 1e-4


@register
class MHS(GatedPairLoss):
    """Hyperparameters: ``lam``, ``m``, ``r``, ``gd``, ``weight`` (no effect), ``ratio``."""

    name = "mhs"
    defaults = switch_defaults(lam=1.0, m=0.30, r=1.75)
    mod_defaults = {"lam": 1.0}

    def gated_loss(self, e0: Tensor, e1: Tensor) -> Tensor:
        n = e0.shape[0]
        d0, _ = nearest_negative(pairwise_distance(e0, e1.detach(), _DIST_EPS))
        d1, _ = nearest_negative(pairwise_distance(e1, e0.detach(), _DIST_EPS))
        if self.ratio:
            pull = self.r * (1.0 / d0.detach() + 1.0 / d1.detach()) / (2 * n)
        else:
            pull = 1.0 / n
        return self.lam * (-d0.mean() - d1.mean()) + (squared_distance_rows(e0, e1) * pull).sum()
