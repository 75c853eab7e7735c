"""A loss from outside the package: decoupled InfoNCE (DCL), as a worked example.

Yeh et al., "Decoupled Contrastive Learning", ECCV 2022: InfoNCE without the positive in the
denominator,

    L = (1/N) Σ_i [ −s_ii/τ + log Σ_{j≠i} e^{s_ij/τ} ].

Its gradient on anchor h_i is (1/(Nτ)) Σ_{j≠i} W_ij (h'_j − h'_i) with W the softmax over the
negatives: the paradigm with R = 1 and **no gradient dissipation** (GD = 1 for every anchor), which
is what decoupling the positive removes. Use it in a study by naming it ``module:Class`` with this
file in the folder snakemake runs in (or in an installed package):

    variants:
      dcl: {loss: "decoupled_infonce:DecoupledInfoNCE", loss_args: {tau: 0.05}}
"""

from __future__ import annotations

import torch
from torch import Tensor

from gradparadigm.losses.base import PairLoss
from gradparadigm.losses.components import Components, softmax_over_negatives
from gradparadigm.losses.geometry import fill_diagonal


class DecoupledInfoNCE(PairLoss):
    """InfoNCE without the positive in the denominator; hyperparameter ``tau`` (0.05)."""

    name = "decoupled_infonce"
    defaults = {"tau": 0.05}
    has_closed_form = True  # components() below: GD, W, R, factor

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        logits = (e0 @ e1.T) / self.tau
        negatives = fill_diagonal(logits, float("-inf"))
        return (torch.logsumexp(negatives, dim=1) - logits.diagonal()).mean()

    def components(self, e0: Tensor, e1: Tensor) -> Components:
        sim = e0 @ e1.T
        n = sim.shape[0]
        ones = torch.ones(n, dtype=sim.dtype, device=sim.device)
        return Components(ones, softmax_over_negatives(sim, self.tau), ones, 1.0 / (n * self.tau))
