"""Names -> loss classes, hyperparameter resolution, ``build_loss``: how configs reach a loss."""

from __future__ import annotations

from typing import Any

from . import arccon, barlow_twins, infonce, mat, met, mhe, mhs, mpt, paradigm_loss, sg, vicreg  # noqa: F401
from .base import PairLoss, registered

LOSS_NAMES: tuple[str, ...] = (
    "infonce",
    "arccon",
    "mpt",
    "met",
    "mat",
    "mhe",
    "mhs",
    "barlow_twins",
    "vicreg",
    "sg",
    "paradigm",
)
if set(LOSS_NAMES) != set(registered()):  # a new module must be added to LOSS_NAMES and imported
    raise RuntimeError(f"LOSS_NAMES {LOSS_NAMES} != registered losses {sorted(registered())}")


def loss_class(name: str) -> type[PairLoss]:
    """The class registered under ``name``; ``ValueError`` listing the valid names otherwise."""
    classes = registered()
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSS_NAMES)}")
    return classes[name]


def resolve_hparams(name: str, **overrides: Any) -> dict[str, Any]:
    """The complete hyperparameter dict ``build_loss(name, **overrides)`` would use.

    Rules:

    * Each loss accepts only its own keys (``ValueError`` listing them otherwise): ``infonce``: tau;
      ``arccon``: tau, u; ``mpt``/``met``/``mat``: m; ``mhe``/``barlow_twins``/``vicreg``: lam, m,
      tau, r, gd, weight, ratio; ``mhs``: lam, m, r, gd, weight, ratio; ``sg``: m, tau, r, power,
      gd, weight, ratio.
    * Types: switches are bools; ``power`` is None or an int >= 0; the rest are finite reals
      (``tau > 0``, ``lam >= 0``); ints become floats.  Wrong types raise ``ValueError``.
    * Defaults are method.md §6 (BERT).  For the non-contrastive losses (mhe, mhs, barlow_twins,
      vicreg), which have an "ori / mod" pair, the switches default to off and the defaults come
      from the **ori** column when all switches are off and from the **mod** column as soon as any
      switch is on (so an ablation dropping one component keeps the mod hyperparameters).  Only λ
      differs between the columns (MHE 10/1, BT and VICReg 30/1, MHS 1/1); m, τ and r, unused
      when their switch is off, always carry the mod values.  ``sg`` has no "ori": its switches
      default to on (m 0.30, τ 0.05, r 1, power None = softmax weights); ``paradigm``'s parts
      default to the same setting (gd margin 0.30, weight softmax 0.05, ratio constant 1).
    * Explicit overrides always win.

    The result is a new dict with sorted keys and plain Python values (bool, int, float, None; for
    ``paradigm`` one dict per part, its keys sorted too, the kind a str), so
    ``json.dumps`` of it is deterministic: the trainer stores it as provenance and Snakemake uses it
    as a rerun trigger.
    """
    return loss_class(name).resolve(**overrides)


def build_loss(name: str, **hparams: Any) -> PairLoss:
    """A fresh loss module ``forward(z0 [N, D], z1 [N, D]) -> scalar`` for ``name``.

    ``z0``/``z1`` are the two views' pooled embeddings, not yet normalised.  See
    :func:`resolve_hparams` for the accepted hyperparameters and their defaults.
    """
    return loss_class(name)(**hparams)
