"""Shared switch logic of Barlow Twins and VICReg (method.md §4–5).

Both original losses split as ``L = NEG + POS``: NEG (redundancy / covariance) pushes each anchor
a_i toward ``Σ_j W⁰_ij a_j`` with ``W⁰ = (2/N²)·S`` for a detached similarity S, and POS
(invariance) pulls it to its positive.  The modified losses replace either part, per order
(a, b) ∈ {(e0, e1), (e1, e0)} and summed over both::

    weight on:  NEG -> λ Σ_i Σ_{j≠i} W_ij (a_i·sg(a_j)),   W = exp(S/τ) / Σ_{k≠l} exp(S_kl/τ)
    ratio on:   POS -> −λ r Σ_i (Σ_{j≠i} W_ij) (a_i·b_i)   (no stop-gradient; W = W⁰ if weight off)

With a switch off, the part is the *explicit* original term, whose gradient equals the official
code's surrogate (tested).  ``gd`` gates the embeddings first (:class:`GatedPairLoss`).

Departure from the official code: with ``weight`` on, the code keeps the diagonal entry
``W_ii (a_i·sg(a_i))`` in NEG; method.md excludes it.  Its gradient ``W_ii a_i`` is radial, so the
gradient on the raw embeddings (through the normalisation) is identical; only the value differs.
"""

from __future__ import annotations

from torch import Tensor

from .base import GatedPairLoss, switch_defaults
from .components import global_offdiag_softmax, offdiag_row_sum, pull_rows, push_rows


class CorrelationLoss(GatedPairLoss):
    """Base class: subclasses define :meth:`weight_similarity` and :meth:`original_terms`.

    Defaults are method.md §6's BERT columns, identical for BT and VICReg: λ 30 (ori) / 1 (mod),
    m 0.30, τ 0.05, r 1.5.
    """

    defaults = switch_defaults(lam=30.0, m=0.30, tau=0.05, r=1.5)
    mod_defaults = {"lam": 1.0}

    def weight_similarity(self, anchors: Tensor, others: Tensor) -> Tensor:
        """The similarity matrix S whose entries weight the push on ``anchors``."""
        raise NotImplementedError

    def original_terms(self, e0: Tensor, e1: Tensor) -> tuple[Tensor, Tensor]:
        """``(NEG, POS)`` of the original loss, explicit (both views' gradients)."""
        raise NotImplementedError

    def negative_weights(self, anchors: Tensor, others: Tensor) -> Tensor:
        sim = self.weight_similarity(anchors, others).detach()
        if self.weight:
            return global_offdiag_softmax(sim, self.tau)
        return sim * (2.0 / sim.shape[0] ** 2)

    def gated_loss(self, e0: Tensor, e1: Tensor) -> Tensor:
        total = e0.new_zeros(())
        if not (self.weight and self.ratio):
            negative, positive = self.original_terms(e0, e1)
            total = total + (0.0 if self.weight else negative) + (0.0 if self.ratio else positive)
        if self.weight or self.ratio:
            for anchors, others in ((e0, e1), (e1, e0)):
                weight = self.negative_weights(anchors, others)
                if self.weight:
                    total = total + self.lam * push_rows(anchors, anchors, weight).sum()
                if self.ratio:
                    pull = pull_rows(anchors, others, offdiag_row_sum(weight), self.r)
                    total = total - self.lam * pull.sum()
        return total
