"""Alignment + uniformity with the minimum-hyperspherical-energy uniformity (MHE), ori and mod.

Original (method.md §4; Wang & Isola uniformity with t = 1/2, as log-sum-exp over pairs)::

    L = λ [ LSE_{i<j}(e0_i·e0_j) + LSE_{i<j}(e1_i·e1_j) ] + (1/N) Σ_i ||e0_i − e1_i||²,   λ = 10

Modified (method.md §5; λ = 1, m = 0.30, τ = 0.05, r = 1.75)::

    U_v   = LSE_{i<j}(e_v,i·e_v,j / τ)
    a_v,i = (1/τ) Σ_{j≠i} e^{s_ij/τ} / Σ_{k<l} e^{s_kl/τ}        (detached; s = same-view cosines)
    L     = λ (U_0 + U_1) + Σ_i ||e0_i − e1_i||² · r · (a_0,i + a_1,i)/2

a_v,i is exactly the mass of the push U_v puts on anchor i, so the alignment term pulls each anchor
in proportion to its own push (R = r per view, ≈ 2r in total since both views' weights pull).

Switches: ``gd`` gates the embeddings (:class:`GatedPairLoss`, uses ``m``); ``weight`` puts the
temperature τ in U_v and uses the a_v,i alignment weights (off: τ = 1 and weights 1/N);
``ratio`` multiplies the alignment by ``r``.  Defaults: all off -> λ = 10; any on -> λ = 1.

Source: Liu et al., "Learning with Hyperspherical Uniformity", AISTATS 2021 (MHE); Wang & Isola,
ICML 2020 (alignment/uniformity); modification from Li, Zhang, Nie, ACL 2024, §4; official code
``isotropy/models.py``, branch ``mhe`` (flags ``w_gd``, ``w_w``, ``w_r``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import GatedPairLoss, register, switch_defaults
from .components import pair_energy_share
from .geometry import pair_logsumexp, squared_distance_rows


@register
class MHE(GatedPairLoss):
    """Hyperparameters: ``lam``, ``m``, ``tau``, ``r``, ``gd``, ``weight``, ``ratio``."""

    name = "mhe"
    defaults = switch_defaults(lam=10.0, m=0.30, tau=0.05, r=1.75)
    mod_defaults = {"lam": 1.0}

    def gated_loss(self, e0: Tensor, e1: Tensor) -> Tensor:
        tau = self.tau if self.weight else 1.0
        s00, s11 = e0 @ e0.T, e1 @ e1.T
        uniformity = pair_logsumexp(s00 / tau) + pair_logsumexp(s11 / tau)
        if self.weight:
            pull = (pair_energy_share(s00.detach(), tau) + pair_energy_share(s11.detach(), tau)) / 2
        else:
            pull = torch.full_like(s00[0], 1.0 / e0.shape[0])
        if self.ratio:
            pull = self.r * pull
        return self.lam * uniformity + (squared_distance_rows(e0, e1) * pull).sum()
