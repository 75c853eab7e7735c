"""Loss library: every loss of the paper, the three gradient components as switches, and the
``paradigm`` loss composed from GD, W and R parts named in config.

Public API::

    LOSS_NAMES                                   # ("infonce", ..., "sg", "paradigm")
    build_loss(name, **hparams) -> PairLoss      # forward(z0 [N, D], z1 [N, D]) -> scalar
    resolve_hparams(name, **overrides) -> dict   # complete, validated, JSON-ready hyperparameters
    closed_form_components(name, z0, z1, **hp)   # (GD [N], W [N, N], R [N], factor)
    paradigm_gradient(components, e0, e1)        # the gradient the closed form predicts
    measure_gradient_components(loss, z0, z1)    # GD / W / R from autograd, for any loss

See ``docs/losses.md`` for a reader's guide and method.md §2–6 for the mathematics.
"""

from .base import PairLoss
from .components import Components
from .paradigm import (
    CLOSED_FORM_LOSSES,
    closed_form_components,
    decompose_gradient,
    measure_gradient_components,
    paradigm_gradient,
)
from .registry import LOSS_NAMES, build_loss, resolve_hparams

__all__ = [
    "CLOSED_FORM_LOSSES",
    "Components",
    "LOSS_NAMES",
    "PairLoss",
    "build_loss",
    "closed_form_components",
    "decompose_gradient",
    "measure_gradient_components",
    "paradigm_gradient",
    "resolve_hparams",
]
