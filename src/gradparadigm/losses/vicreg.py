"""VICReg as the official code optimises it, ori and mod.

Original (method.md §4; λ = 30): invariance + covariance, no centring and no variance hinge::

    C_v = e_vᵀ e_v / N,      L_V = (1/N) Σ_i ||e0_i − e1_i||² + (λ/2)(||C_0||_F² + ||C_1||_F²)

(||C_v||_F² is computed as ||e_v e_vᵀ||_F² / N², from the N×N Gram matrix.)  Its gradient on
e0_i is ``λ(2/N²) Σ_j (e0_i·e0_j) e0_j − (2/N) e1_i`` plus a radial term that the normalisation
removes: the official surrogate's gradient on the raw embeddings (tested in both view orders).

Modified (method.md §5; λ = 1, m = 0.30, τ = 0.05, r = 1.5): W from the *same* view's cosines
(anchor e0 weighted by S_00), see :mod:`correlation` for the switch logic.

The textbook VICReg (batch-standardised, with the variance term) is not offered here.

Source: Bardes, Ponce, LeCun, "VICReg", ICLR 2022; modification from Li, Zhang, Nie, ACL 2024,
§4; official code ``isotropy/models.py``, branch ``vicreg``.
"""

from __future__ import annotations

from torch import Tensor

from .base import register
from .correlation import CorrelationLoss
from .geometry import squared_distance_rows


@register
class VICReg(CorrelationLoss):
    """VICReg as coded officially; hyperparameters lam, m, tau, r, gd, weight, ratio.

    The push on an anchor is weighted by its *own* view's cosines; NEG is the two views'
    covariance, POS the invariance (mean squared distance of the positive pairs).
    """

    name = "vicreg"

    def weight_similarity(self, anchors: Tensor, others: Tensor) -> Tensor:
        return anchors @ anchors.T

    def original_terms(self, e0: Tensor, e1: Tensor) -> tuple[Tensor, Tensor]:
        n = e0.shape[0]
        covariance = ((e0 @ e0.T).pow(2).sum() + (e1 @ e1.T).pow(2).sum()) / n**2
        return 0.5 * self.lam * covariance, squared_distance_rows(e0, e1).mean()
