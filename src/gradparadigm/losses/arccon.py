"""ArcCon: InfoNCE with an additive angular margin on the positive.

Formula (method.md §3)::

    L = (1/N) Σ_i −log( e^{cos(θ_ii + u)/τ} / (e^{cos(θ_ii + u)/τ} + Σ_{j≠i} e^{s_ij/τ}) ),
    θ_ii = arccos s_ii,  u = 10° (π/18),  τ = 0.05

Source: Zhang et al., "A Contrastive Framework for Learning Sentence Representations from Pairwise
and Triple-wise Perspective in Angular Space", ACL 2022; paradigm in Li, Zhang, Nie, ACL 2024, §3:
GD_i = 1/(1 + e^{cos(θ_ii+u)/τ} / Σ_{j≠i} e^{s_ij/τ}), W as InfoNCE,
R_i = sin(θ_ii + u) / sin θ_ii, factor = 1/(Nτ).

Departure from the official code: the cosine is clamped to [−1+ε, 1−ε] before ``arccos`` (the
official code takes ``arccos`` of the raw cosine, which is NaN-prone at s_ii = 1).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import register
from .geometry import safe_arccos
from .infonce import InfoNCE


def arccon_ratio(s_pos: Tensor, u: float) -> Tensor:
    """ArcCon's R_i = d cos(θ_ii + u)/d s_ii = sin(θ_ii + u) / sin θ_ii, since dθ/ds = −1/sin θ."""
    theta = safe_arccos(s_pos)
    return torch.sin(theta + u) / torch.sin(theta)


@register
class ArcCon(InfoNCE):
    """ArcCon with temperature ``tau`` (0.05) and angular margin ``u`` in radians (π/18)."""

    name = "arccon"
    defaults = {"tau": 0.05, "u": math.pi / 18}

    def positive_logit(self, s_pos: Tensor) -> Tensor:
        return torch.cos(safe_arccos(s_pos) + self.u)

    def positive_slope(self, s_pos: Tensor) -> Tensor:
        return arccon_ratio(s_pos, self.u)
