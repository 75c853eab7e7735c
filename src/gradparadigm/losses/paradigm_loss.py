"""``paradigm``: a loss composed from its gradient's parts, GD, W and R, each named by kind.

Formula, for view-0 anchors against view-1 candidates, with GD_i, W_ij, R_i computed on the
detached cosine matrix by the parts' kinds (:mod:`.paradigm_parts`: gd margin | soft | none,
weight softmax | power | uniform | hardest, ratio constant | arccon | met | mat)::

    row_i  = Σ_{j≠i} W_ij [ e0_i·sg(e1_j) − R_i (e0_i·e1_i) ]       (positive not detached)
    L_0→1  = (1/N) Σ_i GD_i · row_i
    L      = L_0→1 + L_1→0                  (views swapped: anchors e1_i, parts over column i of S)

``L_0→1`` gives anchor e0_i exactly ``(1/N) GD_i Σ_{j≠i} W_ij (e1_j − R_i e1_i)`` (tangent part):
the paradigm of method.md §2 with the chosen parts and factor 1/N (:meth:`ComposedLoss.components`).
As for ``sg``, the swapped term adds ``−(1/N) GD'_i R'_i e1_i`` to the same embedding through its
un-detached positive, so with both gates open the effective ratio is about 2R.

Config (``loss_args``; every part optional, unset parameters take the kind's defaults)::

    loss: paradigm
    loss_args:
      gd: {kind: margin, m: 0.3}
      weight: {kind: softmax, tau: 0.05}
      ratio: {kind: constant, r: 1.0}

The defaults are ``sg``'s (margin 0.30, softmax 0.05, constant 1), and ``sg`` is this loss with
parts set from its flat hyperparameters (:meth:`.sg.SG.parts`).  Factor 1/N for every kind: the
InfoNCE-style ``soft`` gate does not bring InfoNCE's 1/τ (a constant; fold it into the learning
rate).  Source: Li, Zhang, Nie, ACL 2024, §2 (the paradigm) and §3.2 (the ``sg`` loss it extends).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .base import PairLoss, register
from .components import Components, pull_rows, push_rows
from .paradigm_parts import PARTS, paradigm_components, resolve_part


class ComposedLoss(PairLoss):
    """Base of the losses built from chosen parts: subclasses say which (:meth:`parts`)."""

    has_closed_form = True

    def parts(self) -> dict[str, dict[str, Any]]:
        """The resolved parts ``{"gd": {...}, "weight": {...}, "ratio": {...}}`` of this loss."""
        raise NotImplementedError

    def components(self, e0: Tensor, e1: Tensor) -> Components:
        """GD, W, R, factor of the direction ``e0`` anchors -> ``e1`` candidates (no gradient)."""
        return paradigm_components(e0 @ e1.T, self.parts())

    def direction_loss(self, anchors: Tensor, candidates: Tensor) -> Tensor:
        """``L_a→c = (1/N) Σ_i GD_i Σ_{j≠i} W_ij [a_i·sg(c_j) − R_i (a_i·c_i)]``: one direction."""
        gd, weight, ratio, factor = self.components(anchors, candidates)
        rows = push_rows(anchors, candidates, weight) - pull_rows(anchors, candidates, weight.sum(1), ratio)
        return factor * (gd * rows).sum()

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        return self.direction_loss(e0, e1) + self.direction_loss(e1, e0)


@register
class Paradigm(ComposedLoss):
    """Paradigm loss from parts; hyperparameters ``gd``, ``weight``, ``ratio`` (mappings by kind)."""

    name = "paradigm"
    defaults = {part: None for part in PARTS}  # None: the part's default kind (sg's setting)

    @classmethod
    def resolve(cls, **overrides: Any) -> dict[str, Any]:
        """Every part complete and validated: ``{part: {"kind": ..., params...}}``, sorted keys."""
        cls.refuse_unknown(overrides)
        return {part: resolve_part(cls.name, part, overrides.get(part)) for part in sorted(PARTS)}

    def parts(self) -> dict[str, dict[str, Any]]:
        return self.hparams
