"""The parts of the composable paradigm loss: a GD gate, a weighting W, a ratio R, each by kind.

A part is a mapping ``{kind: <name>, <parameter>: <value>, ...}``.  With ``s`` the detached cosine
matrix of anchors (rows) against candidates (columns, positives on the diagonal), ``j*`` the
hardest negative ``argmax_{j≠i} s_ij``, ``θ = arccos s`` and ``d = sqrt(max(2 − 2s, 1e-4))``:

====== ========== ============ ============================================ =========================
part   kind       parameters   value                                        from
====== ========== ============ ============================================ =========================
gd     margin     m = 0.30     1[s_ii − s_ij* < m]                          MPT, sg (``margin_gate``)
gd     soft       tau = 0.05   1 / (1 + e^{s_ii/τ} / Σ_{j≠i} e^{s_ij/τ})   InfoNCE (``soft_gate``)
gd     none                    1
weight softmax    tau = 0.05   e^{s_ij/τ} / Σ_{k≠i} e^{s_ik/τ}             InfoNCE, ArcCon, sg
weight power      power (int)  max(s_ij, 1e-4)^p / Σ_{k≠i} max(s_ik, 1e-4)^p   sg's ``power``
weight uniform                 1 / (N − 1)                                  sg with ``weight`` off
weight hardest                 1[j = j*]                                    MPT (MET/MAT: see below)
ratio  constant   r = 1.0      r                                            sg, InfoNCE (r = 1)
ratio  arccon     u = π/18     sin(θ_ii + u) / sin θ_ii                     ArcCon (``arccon_ratio``)
ratio  met                     d_ij* / d_ii                                 MET (``euclidean_slope``)
ratio  mat                     sin θ_ij* / sin θ_ii                         MAT (``angular_slope``)
====== ========== ============ ============================================ =========================

W is zero on the diagonal and each row sums to 1 (``power``: unless every entry underflows).
The R kinds ``met`` and ``mat`` are the ratios of MET's and MAT's closed forms, computed by the
same code (:func:`~.hardest_margin.slope_ratio` of their distance slopes); their margins belong to
those losses' gates, not to R, so these kinds have no parameter.  MET and MAT also scale their
one-hot W by ``1/d_ij*`` and ``1/sin θ_ij*``; here W is normalised, so ``hardest`` with R ``met``
gives MET's gradient direction for every open anchor, scaled by ``d_ij*``.

:func:`resolve_part` validates a part (``HparamError`` naming ``gd.kind``, ``weight.tau``, ...),
:func:`paradigm_components` turns resolved parts into :class:`~.components.Components`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch import Tensor

from .arccon import arccon_ratio
from .base import HparamError, check_hparam
from .components import (
    Components,
    margin_gate,
    one_hot_hardest,
    power_over_negatives,
    soft_gate,
    softmax_over_negatives,
    uniform_over_negatives,
)
from .geometry import hardest_negative
from .hardest_margin import slope_ratio
from .mat import angular_slope
from .met import euclidean_slope

REQUIRED = object()  # a parameter without a default: it must be given


@dataclass(frozen=True)
class PartKind:
    """One kind of a part: its parameters (name -> default or ``REQUIRED``) and what it computes
    from the cosine matrix ``sim [N, N]`` and those parameters."""

    params: Mapping[str, Any]
    compute: Callable[..., Tensor]


# ----------------------------------------------------------------------------------------------- GD
def _margin_gd(sim: Tensor, m: float) -> Tensor:
    return margin_gate(sim.diagonal() - hardest_negative(sim)[0], m).to(sim.dtype)


def _soft_gd(sim: Tensor, tau: float) -> Tensor:
    return soft_gate(sim, sim.diagonal(), tau)


def _no_gd(sim: Tensor) -> Tensor:
    return torch.ones_like(sim.diagonal())


# ------------------------------------------------------------------------------------------------ W
def _hardest_weight(sim: Tensor) -> Tensor:
    return one_hot_hardest(sim, hardest_negative(sim)[1])


# ------------------------------------------------------------------------------------------------ R
def _constant_ratio(sim: Tensor, r: float) -> Tensor:
    return torch.full_like(sim.diagonal(), r)


def _arccon_ratio(sim: Tensor, u: float) -> Tensor:
    return arccon_ratio(sim.diagonal(), u)


def _met_ratio(sim: Tensor) -> Tensor:
    return slope_ratio(euclidean_slope(sim), hardest_negative(sim)[1])


def _mat_ratio(sim: Tensor) -> Tensor:
    return slope_ratio(angular_slope(sim), hardest_negative(sim)[1])


PARTS: dict[str, dict[str, PartKind]] = {
    "gd": {
        "margin": PartKind({"m": 0.30}, _margin_gd),
        "soft": PartKind({"tau": 0.05}, _soft_gd),
        "none": PartKind({}, _no_gd),
    },
    "weight": {
        "softmax": PartKind({"tau": 0.05}, softmax_over_negatives),
        "power": PartKind({"power": REQUIRED}, power_over_negatives),
        "uniform": PartKind({}, uniform_over_negatives),
        "hardest": PartKind({}, _hardest_weight),
    },
    "ratio": {
        "constant": PartKind({"r": 1.0}, _constant_ratio),
        "arccon": PartKind({"u": math.pi / 18}, _arccon_ratio),
        "met": PartKind({}, _met_ratio),
        "mat": PartKind({}, _mat_ratio),
    },
}
DEFAULT_KINDS = {"gd": "margin", "weight": "softmax", "ratio": "constant"}  # sg's defaults


def _choices(part: str) -> str:
    return ", ".join(PARTS[part])


def resolve_part(loss: str, part: str, spec: Any) -> dict[str, Any]:
    """The complete, validated part ``spec`` (``None``: the default kind with its defaults).

    Returns ``{"kind": ..., <every parameter of the kind>: <plain int/float>}`` with sorted keys.
    Raises :class:`HparamError` whose ``key`` is the offending path (``gd``, ``gd.kind``, ``gd.m``).
    """
    where = f"loss {loss!r}: hyperparameter"
    if spec is None:
        spec = {"kind": DEFAULT_KINDS[part]}
    if not isinstance(spec, Mapping):
        raise HparamError(
            part, f"{where} {part!r} must be a mapping with a 'kind' (one of {_choices(part)}), got {spec!r}"
        )
    if "kind" not in spec:
        raise HparamError(f"{part}.kind", f"{where} '{part}.kind' is missing: give one of {_choices(part)}")
    kind = spec["kind"]
    if not isinstance(kind, str) or kind not in PARTS[part]:
        raise HparamError(f"{part}.kind", f"{where} '{part}.kind': {kind!r} is not one of {_choices(part)}")
    params = PARTS[part][kind].params
    unknown = sorted(str(key) for key in spec if key != "kind" and key not in params)
    if unknown:
        valid = f"its parameters: {', '.join(params)}" if params else "it has no parameters"
        raise HparamError(
            f"{part}.{unknown[0]}",
            f"{where} '{part}.{unknown[0]}': {part} kind {kind!r} has no such parameter ({valid})",
        )
    resolved: dict[str, Any] = {"kind": kind}
    for name, default in params.items():
        key = f"{part}.{name}"
        if name not in spec and default is REQUIRED:
            raise HparamError(key, f"{where} {key!r} is required for {part} kind {kind!r}")
        try:
            value = check_hparam(loss, key, spec.get(name, default), rule=name)
        except ValueError as exc:
            raise HparamError(key, str(exc)) from None
        if value is None:  # check_hparam lets sg's power be None (= softmax); a power kind needs one
            raise HparamError(key, f"{where} {key!r} must be a non-negative integer, got None")
        resolved[name] = value
    return {key: resolved[key] for key in sorted(resolved)}


def part_values(part: str, spec: Mapping[str, Any], sim: Tensor) -> Tensor:
    """The part's values on the cosine matrix ``sim``: GD and R ``[N]``, W ``[N, N]``."""
    params = {key: value for key, value in spec.items() if key != "kind"}
    return PARTS[part][spec["kind"]].compute(sim, **params)


def paradigm_components(sim: Tensor, parts: Mapping[str, Mapping[str, Any]]) -> Components:
    """GD, W, R of resolved ``parts`` on a cosine matrix (detached here) and factor ``1/N``."""
    sim = sim.detach()
    gd, weight, ratio = (part_values(part, parts[part], sim) for part in ("gd", "weight", "ratio"))
    return Components(gd, weight, ratio, 1.0 / sim.shape[0])
