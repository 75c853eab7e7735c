"""Names -> loss classes, hyperparameter resolution, ``build_loss``: how configs reach a loss."""

from __future__ import annotations

import importlib
import re
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


OUTSIDE_LOSS = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def loss_class(name: str) -> type[PairLoss]:
    """The class registered under ``name``, or a loss from outside the package named
    ``module.path:ClassName`` (a :class:`PairLoss` subclass in an importable module: installed, or
    a file in the folder Snakemake runs in); ``ValueError`` saying what is wrong otherwise."""
    classes = registered()
    if isinstance(name, str) and name in classes:
        return classes[name]
    if not isinstance(name, str) or not OUTSIDE_LOSS.match(name):
        raise ValueError(
            f"unknown loss {name!r}; valid: {', '.join(LOSS_NAMES)}, or a loss from outside "
            "the package as 'module.path:ClassName'"
        )
    module_name, _, attribute = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"loss {name!r}: cannot import module {module_name!r} ({exc}); it must be installed "
            "or be a file in the folder snakemake runs in"
        ) from None
    cls = getattr(module, attribute, None)
    if not (isinstance(cls, type) and issubclass(cls, PairLoss)):
        what = "no such attribute" if cls is None else f"{type(cls).__name__}, not a PairLoss subclass"
        raise ValueError(
            f"loss {name!r}: {module_name}.{attribute} is {what} "
            "(see docs/losses.md, 'A loss from outside the package')"
        )
    return cls


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
