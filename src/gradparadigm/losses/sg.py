"""``sg``: the paradigm loss of the empirical study, each component set by hand.

Formula (method.md §5, "Paradigm loss"), for view-0 anchors against view-1 candidates::

    gate_i = 1[ s_ii − max_{j≠i} s_ij < m ]                       (GD, from sg(S))
    W_i·   = softmax_{j≠i}( sg(S)_ij / τ )                         (W)
    row_i  = Σ_{j≠i} W_ij [ e0_i·sg(e1_j) − r (e0_i·e1_i) ]         (R = r, positive not detached)
    L_0→1  = (1/N) Σ_i gate_i · row_i          (closed rows count as zero, the divisor stays N)

and ``L = L_0→1 + L_1→0`` (views swapped: anchors e1_i, gate and softmax over column i of S).
Defaults m = 0.30, τ = 0.05, r = 1 (official ``scripts/empirical``); ``power`` (int) replaces the
softmax by ``W ∝ max(s, 1e-4)^power``.

Gradient.  ``L_0→1`` alone gives anchor e0_i exactly ``(1/N) gate_i Σ_j W_ij (e1_j − r e1_i)``:
the paradigm with GD = gate, W, R = r, factor = 1/N (:meth:`SG.components`).  The swapped term
adds to the same embedding only through its un-detached positive: ``−(1/N) gate'_i r e1_i``
(``gate'`` from column i); so with both gates open the effective ratio is 2r.

Switches (all on by default, as in every official ``sg`` run): ``gd`` off = every gate open;
``weight`` off = uniform W over the N−1 negatives (the official ``power=0``); ``ratio`` off = r = 1.

Source: Li, Zhang, Nie, ACL 2024, §3.2 (empirical study); official code ``isotropy/models.py``,
branch ``sg``.  Departures from the official code: (1) normalisation as method.md, (1/N) Σ_i gate_i
row_i; the code averages over the k open rows and the N columns, i.e. it is this loss divided by k
(gd on) or by N (gd off), and it is NaN when no gate is open (here: 0 with zero gradient).
(2) The code's ``w_w``/``w_r`` flags are ignored in its ``sg`` branch; here they are the switches
above, which reproduce the code's settings ``power=0`` and ``ratio=1``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import PairLoss, register
from .components import (
    Components,
    margin_gate,
    power_over_negatives,
    pull_rows,
    push_rows,
    softmax_over_negatives,
    uniform_over_negatives,
)
from .geometry import hardest_negative


@register
class SG(PairLoss):
    """Paradigm loss; hyperparameters m, tau, r, power, gd, weight, ratio (see module docstring)."""

    name = "sg"
    defaults = {
        "m": 0.30,
        "tau": 0.05,
        "r": 1.0,
        "power": None,
        "gd": True,
        "weight": True,
        "ratio": True,
    }
    has_closed_form = True

    def components(self, e0: Tensor, e1: Tensor) -> Components:
        """GD, W, R, factor of the direction ``e0`` anchors -> ``e1`` candidates (no gradient)."""
        sim = (e0 @ e1.T).detach()
        n = sim.shape[0]
        if self.gd:
            hardest, _ = hardest_negative(sim)
            gd = margin_gate(sim.diagonal() - hardest, self.m).to(sim.dtype)
        else:
            gd = torch.ones(n, dtype=sim.dtype, device=sim.device)
        if not self.weight:
            weight = uniform_over_negatives(sim)
        elif self.power is None:
            weight = softmax_over_negatives(sim, self.tau)
        else:
            weight = power_over_negatives(sim, self.power)
        ratio = torch.full((n,), self.r if self.ratio else 1.0, dtype=sim.dtype, device=sim.device)
        return Components(gd, weight, ratio, 1.0 / n)

    def direction_loss(self, anchors: Tensor, candidates: Tensor) -> Tensor:
        """``L_a→c = (1/N) Σ_i gate_i Σ_{j≠i} W_ij [a_i·sg(c_j) − r (a_i·c_i)]``: one direction."""
        gd, weight, ratio, factor = self.components(anchors, candidates)
        rows = push_rows(anchors, candidates, weight) - pull_rows(
            anchors, candidates, weight.sum(1), ratio
        )
        return factor * (gd * rows).sum()

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        return self.direction_loss(e0, e1) + self.direction_loss(e1, e0)
