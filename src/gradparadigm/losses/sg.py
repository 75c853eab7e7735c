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

``sg`` is a preset of the composable ``paradigm`` loss (:mod:`.paradigm_loss`): :meth:`SG.parts`
maps its flat hyperparameters to parts (gd ``margin`` m or ``none``; weight ``softmax`` τ,
``power`` or ``uniform``; ratio ``constant`` r or 1) and the loss, its components and gradient are
computed by the same code.

Source: Li, Zhang, Nie, ACL 2024, §3.2 (empirical study); official code ``isotropy/models.py``,
branch ``sg``.  Departures from the official code: (1) normalisation as method.md, (1/N) Σ_i gate_i
row_i; the code averages over the k open rows and the N columns, i.e. it is this loss divided by k
(gd on) or by N (gd off), and it is NaN when no gate is open (here: 0 with zero gradient).
(2) The code's ``w_w``/``w_r`` flags are ignored in its ``sg`` branch; here they are the switches
above, which reproduce the code's settings ``power=0`` and ``ratio=1``.
"""

from __future__ import annotations

from typing import Any

from .base import register
from .paradigm_loss import ComposedLoss


@register
class SG(ComposedLoss):
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

    def parts(self) -> dict[str, dict[str, Any]]:
        """The ``paradigm`` parts this setting is: ``build_loss("paradigm", **sg.parts())`` is sg."""
        gd = {"kind": "margin", "m": self.m} if self.gd else {"kind": "none"}
        if not self.weight:
            weight: dict[str, Any] = {"kind": "uniform"}
        elif self.power is None:
            weight = {"kind": "softmax", "tau": self.tau}
        else:
            weight = {"kind": "power", "power": self.power}
        ratio = {"kind": "constant", "r": self.r if self.ratio else 1.0}
        return {"gd": gd, "weight": weight, "ratio": ratio}
