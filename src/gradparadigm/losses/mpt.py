"""MPT: triplet loss with a margin on cosine similarity.

Formula (method.md §3)::

    L = (1/N) Σ_i relu( s_ij* − s_ii + m ),   j* = argmax_{j≠i} s_ij,   m = 0.23

Source: Li, Zhang, Nie, ICLR 2023 ("On the Inadequacy of Optimizing Alignment and Uniformity in
Contrastive Learning of Sentence Representations"), code
``BDBC-KG-NLP/ICLR2023_Gradient-Dissipation``; paradigm in Li, Zhang, Nie, ACL 2024, §3:
GD = 1[s_ii − s_ij* < m], W one-hot at j*, R = 1, factor = 1/N.  Distance f(s) = −s in
:mod:`hardest_margin`'s template.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import register
from .hardest_margin import HardestNegativeMargin


@register
class MPT(HardestNegativeMargin):
    """Margin on cosine (hyperparameter ``m``, default 0.23)."""

    name = "mpt"
    defaults = {"m": 0.23}

    def distance(self, sim: Tensor) -> Tensor:
        return -sim

    def distance_slope(self, sim: Tensor) -> Tensor:
        return torch.ones_like(sim)
