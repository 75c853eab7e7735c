"""InfoNCE (NT-Xent), the loss of unsupervised SimCSE.

Formula (one direction, view-0 anchors against view-1 candidates; method.md §3)::

    L = (1/N) Σ_i −log( exp(s_ii/τ) / Σ_j exp(s_ij/τ) ),      s_ij = cos(z0_i, z1_j),  τ = 0.05

Source: Gao, Yao, Chen, "SimCSE", EMNLP 2021; read through the gradient paradigm in Li, Zhang, Nie,
ACL 2024, §3 (method.md §2 table): with p_ij the softmax over all j of s_ij/τ,
GD_i = 1 − p_ii, W_ij = softmax_{j≠i}(s_ij/τ), R_i = 1, factor = 1/(Nτ).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import PairLoss, register
from .components import Components, soft_gate, softmax_over_negatives


@register
class InfoNCE(PairLoss):
    """InfoNCE with temperature ``tau`` (default 0.05). Hyperparameters: ``tau``.

    Subclasses change only the positive's logit (:meth:`positive_logit`, before division by τ)
    and its derivative with respect to ``s_ii`` (:meth:`positive_slope`, which is the ratio R).
    """

    name = "infonce"
    defaults = {"tau": 0.05}
    has_closed_form = True

    def positive_logit(self, s_pos: Tensor) -> Tensor:
        """τ × the positive's logit as a function of its cosine ``s_ii``."""
        return s_pos

    def positive_slope(self, s_pos: Tensor) -> Tensor:
        """``d positive_logit / d s_ii``: the paradigm's ratio R_i."""
        return torch.ones_like(s_pos)

    def logits(self, e0: Tensor, e1: Tensor) -> Tensor:
        sim = e0 @ e1.T
        return torch.diagonal_scatter(sim, self.positive_logit(sim.diagonal())) / self.tau

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        labels = torch.arange(e0.shape[0], device=e0.device)
        return F.cross_entropy(self.logits(e0, e1), labels)

    def components(self, e0: Tensor, e1: Tensor) -> Components:
        sim = e0 @ e1.T
        s_pos = sim.diagonal()
        gd = soft_gate(sim, self.positive_logit(s_pos), self.tau)
        weight = softmax_over_negatives(sim, self.tau)
        return Components(gd, weight, self.positive_slope(s_pos), 1.0 / (sim.shape[0] * self.tau))
