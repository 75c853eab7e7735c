"""Barlow Twins on L2-normalised, uncentred embeddings, ori and mod.

Original (method.md §4; λ = 30)::

    C = e0ᵀ e1 / N   (D × D),      L_B = Σ_d (1 − C_dd)² + λ Σ_{d≠e} C_de²

Implemented as NEG = λ Σ_{d,e} C_de² (computed as Σ_ij (e0_i·e0_j)(e1_i·e1_j)/N², from the N×N
Gram matrices) plus POS = Σ_d (1 − C_dd)² − λ Σ_d C_dd².  Its gradient on e0_i,
``(2/N)[λ(1/N) Σ_j (e1_i·e1_j) e0_j − (1 − (1−λ) C_dd) ⊙ e1_i]``, is the official surrogate's
(tested in both view orders).  POS is element-wise in the coordinates, so it is not a combination of
the batch's embeddings: gradient decompositions of BT-ori are approximate (``decomp_residual``).

Modified (method.md §5; λ = 1, m = 0.30, τ = 0.05, r = 1.5): W from the *other* view's cosines
(anchor e0 weighted by S_11), see :mod:`correlation` for the switch logic.

Source: Zbontar et al., "Barlow Twins", ICML 2021; modification from Li, Zhang, Nie, ACL 2024, §4;
official code ``isotropy/models.py``, branch ``barlowtwins``.
"""

from __future__ import annotations

from torch import Tensor

from .base import register
from .correlation import CorrelationLoss


@register
class BarlowTwins(CorrelationLoss):
    """Barlow Twins; hyperparameters lam, m, tau, r, gd, weight, ratio.

    The push on an anchor is weighted by the *other* view's cosines; NEG/POS are the
    cross-correlation's off-diagonal / diagonal terms.
    """

    name = "barlow_twins"

    def weight_similarity(self, anchors: Tensor, others: Tensor) -> Tensor:
        return others @ others.T

    def original_terms(self, e0: Tensor, e1: Tensor) -> tuple[Tensor, Tensor]:
        n = e0.shape[0]
        c_diag = (e0 * e1).sum(0) / n  # C_dd
        negative = self.lam * ((e0 @ e0.T) * (e1 @ e1.T)).sum() / n**2  # λ Σ_{d,e} C_de²
        positive = (1.0 - c_diag).pow(2).sum() - self.lam * c_diag.pow(2).sum()
        return negative, positive
