"""Base classes of the losses, the registry they enter, and hyperparameter validation.

A loss class declares ``name``, ``defaults`` (every hyperparameter it accepts, with the value of the
original loss: method.md §6 "ori" / BERT column) and, for losses with switches, ``mod_defaults``
(the "mod" column, used as soon as any switch is on).  :meth:`PairLoss.resolve` turns user
overrides into the complete, validated, JSON-serialisable dict the loss runs with.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from .components import Components, detach_closed_rows, same_view_gate
from .geometry import normalize_pair

SWITCHES = ("gd", "weight", "ratio")

_REGISTRY: dict[str, type["PairLoss"]] = {}


def register(cls: type["PairLoss"]) -> type["PairLoss"]:
    """Class decorator: make ``cls`` reachable through ``build_loss(cls.name, ...)``."""
    if cls.name in _REGISTRY:
        raise RuntimeError(f"loss name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> Mapping[str, type["PairLoss"]]:
    """Read-only view of the registry (name -> class)."""
    return dict(_REGISTRY)


class HparamError(ValueError):
    """A bad value inside a structured hyperparameter; ``key`` is its path in the loss's arguments
    (``"gd.kind"``), so that a config error can name ``variants.<v>.loss_args.gd.kind``."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_hparam(loss: str, key: str, value: Any, *, rule: str | None = None) -> Any:
    """Validate one hyperparameter value and return it as a plain Python bool/int/float/None.

    Switches must be bools (``1``/``"true"`` are refused); ``power`` is ``None`` or a non-negative
    integer; every other key is a finite real number (bools refused), ``tau > 0`` and ``lam >= 0``.
    ``rule``: check ``value`` as the hyperparameter ``rule`` while naming it ``key`` in the message
    (the paradigm loss's ``weight.tau`` is checked as ``tau``).
    """
    where = f"loss {loss!r}: hyperparameter {key!r}"
    key = rule or key
    if key in SWITCHES:
        if _is_bool(value):
            return bool(value)
        raise ValueError(f"{where} must be a bool, got {value!r} ({type(value).__name__})")
    if key == "power":
        if value is None:
            return None
        if _is_bool(value) or not isinstance(value, numbers.Real) or not float(value).is_integer() or value < 0:
            raise ValueError(f"{where} must be None or a non-negative integer, got {value!r}")
        return int(value)
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite, got {value!r}")
    if key == "tau" and value <= 0:
        raise ValueError(f"{where} (temperature) must be > 0, got {value!r}")
    if key == "lam" and value < 0:
        raise ValueError(f"{where} must be >= 0, got {value!r}")
    return value


def switch_defaults(**values: Any) -> dict[str, Any]:
    """``values`` plus the three switches, off: the defaults of a loss with an "ori / mod" pair."""
    return {**values, "gd": False, "weight": False, "ratio": False}


class PairLoss(nn.Module):
    """A loss on two views' pooled embeddings ``z0, z1 [N, D]`` (not normalised) -> a scalar.

    ``forward`` L2-normalises both views in float32 or better (bf16/fp16 are upcast, float64 stays
    float64) with autocast disabled, then calls :meth:`loss_on_sphere`.  Subclasses with a closed
    form of the gradient paradigm implement :meth:`components` and set ``has_closed_form``.
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]]
    mod_defaults: ClassVar[Mapping[str, Any]] = {}
    has_closed_form: ClassVar[bool] = False

    def __init__(self, **hparams: Any):
        super().__init__()
        self.hparams = self.resolve(**hparams)
        for key, value in self.hparams.items():
            setattr(self, key, value)

    @classmethod
    def resolve(cls, **overrides: Any) -> dict[str, Any]:
        """Complete, validated hyperparameters (sorted keys); see ``losses.resolve_hparams``."""
        cls.refuse_unknown(overrides)
        given = {key: check_hparam(cls.name, key, value) for key, value in overrides.items()}
        any_switch_on = any(given.get(s, cls.defaults[s]) for s in SWITCHES if s in cls.defaults)
        merged = {**cls.defaults, **(cls.mod_defaults if any_switch_on else {}), **given}
        return {key: merged[key] for key in sorted(merged)}

    @classmethod
    def refuse_unknown(cls, overrides: Mapping[str, Any]) -> None:
        """``ValueError`` listing the valid keys if ``overrides`` has a key ``defaults`` lacks."""
        valid = sorted(cls.defaults)
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise ValueError(
                f"loss {cls.name!r}: unknown hyperparameter(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
            )

    def forward(self, z0: Tensor, z1: Tensor) -> Tensor:
        if z0.ndim != 2 or z0.shape != z1.shape:
            raise ValueError(
                f"loss {self.name!r} expects two [N, D] views of the same shape, "
                f"got {tuple(z0.shape)} and {tuple(z1.shape)}"
            )
        if z0.shape[0] < 2:
            raise ValueError(f"loss {self.name!r} needs a batch of N >= 2 (in-batch negatives)")
        with torch.autocast(device_type=z0.device.type, enabled=False):
            return self.loss_on_sphere(*normalize_pair(z0, z1))

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        """The loss on already L2-normalised views (what the formulas in the docstrings define)."""
        raise NotImplementedError

    def components(self, e0: Tensor, e1: Tensor) -> Components:
        """Closed-form GD, W, R, factor for view-0 anchors (normalised inputs)."""
        raise NotImplementedError(f"loss {self.name!r} has no closed-form paradigm components")

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.hparams.items())


class GatedPairLoss(PairLoss):
    """Base of the non-contrastive losses: the ``gd`` switch gates the embeddings themselves.

    With ``gd`` on, each view's rows whose same-view gate is closed (``1 − max_{j≠i} e_i·e_j >= m``,
    method.md §5) are replaced by detached copies before :meth:`gated_loss` sees them, so they get
    exactly zero gradient in every role.  The loss *value* is unchanged by the gate.
    """

    def loss_on_sphere(self, e0: Tensor, e1: Tensor) -> Tensor:
        if self.gd:
            e0 = detach_closed_rows(e0, same_view_gate(e0, self.m))
            e1 = detach_closed_rows(e1, same_view_gate(e1, self.m))
        return self.gated_loss(e0, e1)

    def gated_loss(self, e0: Tensor, e1: Tensor) -> Tensor:
        raise NotImplementedError
