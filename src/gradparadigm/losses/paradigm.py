"""The gradient paradigm: closed forms, the gradient they predict, and empirical measurement.

``∂L/∂h_i = factor · GD_i · Σ_{j≠i} W_ij (h'_j − R_i h'_i)`` (tangent part; method.md §2).

* :func:`closed_form_components` gives GD, W, R, factor from the formulas, for the losses that have
  them (infonce, arccon, mpt, met, mat, sg, paradigm); :func:`paradigm_gradient` turns them into the
  predicted gradient.
* :func:`measure_gradient_components` measures the same quantities for *any* loss module from its
  autograd gradient (so training can log them for every loss), via :func:`decompose_gradient`.

How the measurement works.  Take the gradient ``g_i`` w.r.t. the normalised view-0 embeddings
(tangent to the sphere) and write it as a combination of candidate vectors::

    g_i = P_i ( Σ_j c_ij h'_j + Σ_{j≠i} b_ij h_j ),     P_i = I − h_i h_iᵀ

For a loss that depends on the embeddings only through inner products, this is exact, and the
coefficients are unique when the candidates are linearly independent.  In the paradigm form
``c_ij = factor·GD_i·W_ij`` (j ≠ i) and ``c_ii = −factor·GD_i·R_i·Σ_j W_ij``.  From them, per
anchor:
push on negative j ``p_ij = c_ij + b_ij``, pull ``−c_ii``, and

* ``gd_active_frac``: share of anchors with ``||g_i|| > active_rtol · max_k ||g_k||`` (default 1e-3:
  an anchor whose gradient is a thousand times weaker than the batch's strongest counts as
  dissipated; closed gates give exactly 0);
* ``w_hardest_share``: mean over active anchors of ``|p_ij*| / Σ_{j≠i} |p_ij|``, with j* the hardest
  negative (argmax_{j≠i} of e0_i·e1_j).  For the paradigm form this is ``W_ij*/Σ_j W_ij``.  (The
  official ``statistics.py`` instead projects the hardest negative's weighted *vector* on the total
  push direction; the coefficient share is basis-free and exact here.)
* ``r_effective``: median over active anchors with a positive net push of ``−c_ii / Σ_{j≠i} p_ij``;
  for the paradigm form this is R_i.  The median, not the mean: an anchor whose pushes nearly
  cancel (net push near zero, as fitted coefficients of mixed sign can) has a ratio of 10⁷ and
  would decide a mean on its own.  Symmetrised losses whose positive is not detached count the
  pull of both directions (≈ 2r for sg and the mod non-contrastive losses).
* ``grad_norm_mean``: mean ``||g_i||``;  ``decomp_residual``: ``||g − fit||_F / ||g||_F``;
  ``decomp_inview``: 1.0 if same-view candidates h_j were needed;  ``decomp_unique``: 1.0 if the
  coefficients are identifiable (candidates linearly independent).

Solver.  First only the view-1 candidates (exact for losses without in-view terms: all contrastive
losses, sg, MHS), solving each anchor's projected normal equations ``(G − s_i s_iᵀ) c_i = E1 g_i``
with ``G = E1 E1ᵀ`` by a Sherman–Morrison update of one Cholesky factor: this needs N + 1 <= D.
If that leaves a relative residual above ``cross_rtol`` (1e-3), the loss has in-view terms (MHE,
BT, VICReg) and one least-squares fit on all 2N candidates ``[E1, E0]`` follows (normal equations
with a Cholesky factor; the coefficient on h_i itself absorbs the radial part and is discarded).
That fit is unique only when the 2N candidates are linearly independent (2N <= D); otherwise
``decomp_unique`` is 0 and the W/R figures come from the minimum-norm (SVD) solution.
Losses whose gradient is not a combination of the embeddings (BT-ori's element-wise term) show a
non-zero ``decomp_residual``: read their W/R figures as approximate.  Decomposition runs on CPU in
float64; the gradient itself is taken in the loss's working precision (float32 or float64).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .components import Components
from .geometry import hardest_negative, normalize_pair, tangent_project
from .registry import LOSS_NAMES, build_loss, loss_class

_INDEPENDENCE_TOL = 1e-10  # squared distance of a unit candidate from the span of the others
CLOSED_FORM_LOSSES: tuple[str, ...] = tuple(n for n in LOSS_NAMES if loss_class(n).has_closed_form)


def closed_form_components(name: str, z0: Tensor, z1: Tensor, **hparams: Any) -> Components:
    """``(GD [N], W [N, N], R [N], factor)`` of view-0 anchors against view-1 candidates.

    For infonce, arccon, mpt, met, mat, sg and paradigm (for sg and paradigm: the direction
    ``L_0→1`` only; the swapped direction is ``closed_form_components("sg", z1, z0)`` and adds
    ``−factor·GD'_i·R'_i·Σ_j W'_ij·h'_i`` to anchor i, see :mod:`.sg`).  Inputs are normalised
    here; ``hparams`` as for ``build_loss``.
    """
    loss = build_loss(name, **hparams)
    if not loss.has_closed_form:
        raise ValueError(
            f"loss {name!r} has no closed-form paradigm components (closed forms: "
            f"{', '.join(CLOSED_FORM_LOSSES)}); use measure_gradient_components"
        )
    with torch.no_grad():
        return loss.components(*normalize_pair(z0, z1))


def paradigm_gradient(components: Components, e0: Tensor, e1: Tensor) -> Tensor:
    """``P_i [factor · GD_i · Σ_j W_ij (e1_j − R_i e1_i)]`` for every anchor: ``[N, D]``."""
    gd, weight, ratio, factor = components
    raw = weight @ e1 - (ratio * weight.sum(1))[:, None] * e1
    return tangent_project(factor * gd[:, None] * raw, e0)


class Decomposition(NamedTuple):
    """Coefficients of each anchor's gradient on the candidates (rows = anchors, float64, CPU)."""

    cross: Tensor  # [N, N]: cross[i, j] multiplies h'_j = e1_j (diagonal: the positive)
    inview: Tensor  # [N, N]: inview[i, j] multiplies h_j = e0_j, j != i (zero diagonal)
    residual: float  # ||g − fit||_F / ||g||_F
    inview_used: bool
    unique: bool


def anchor_gradient(loss: nn.Module, z0: Tensor, z1: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(g, e0, e1)``: tangent gradient of ``loss(e0, e1)`` w.r.t. the normalised view 0.

    Works on detached copies with grad enabled and autocast off, so it never touches the caller's
    graph and can run under ``torch.no_grad()``.
    """
    with torch.enable_grad(), torch.autocast(device_type=z0.device.type, enabled=False):
        e0, e1 = normalize_pair(z0.detach(), z1.detach())
        e0 = e0.clone().requires_grad_(True)
        value = loss(e0, e1)
        grad = None
        if value.requires_grad:
            grad = torch.autograd.grad(value, e0, allow_unused=True)[0]
    e0 = e0.detach()
    grad = torch.zeros_like(e0) if grad is None else grad
    return tangent_project(grad, e0), e0, e1


def _cross_view_coefficients(g: Tensor, h: Tensor, c: Tensor) -> Tensor | None:
    """Per-anchor projected least squares on the view-1 candidates; None if not solvable."""
    n, d = h.shape
    if n + 1 > d:
        return None
    factor, info = torch.linalg.cholesky_ex(c @ c.T)
    if info.item() != 0:
        return None
    s = h @ c.T  # row i: s_i = E1 h_i
    y = torch.cholesky_solve((g @ c.T).T, factor).T  # row i: G⁻¹ E1 g_i
    z = torch.cholesky_solve(s.T, factor).T  # row i: G⁻¹ s_i
    denom = 1.0 - (s * z).sum(1)  # squared distance of h_i from span(E1)
    if (denom <= 1e-10).any():
        return None
    return y + z * ((s * y).sum(1) / denom)[:, None]


def decompose_gradient(grad: Tensor, e0: Tensor, e1: Tensor, *, cross_rtol: float = 1e-3) -> Decomposition:
    """Coefficients of the tangent gradients ``grad [N, D]`` on ``e1`` (and ``e0`` if needed)."""
    g, h, c = (t.detach().to("cpu", torch.float64) for t in (grad, e0, e1))
    n, d = h.shape
    zeros = torch.zeros(n, n, dtype=torch.float64)
    scale = g.norm()
    if scale == 0:
        return Decomposition(zeros, zeros.clone(), 0.0, False, True)
    cross = _cross_view_coefficients(g, h, c)
    if cross is not None:
        residual = ((g - tangent_project(cross @ c, h)).norm() / scale).item()
        if residual <= cross_rtol:
            return Decomposition(cross, zeros, residual, False, True)
    rows = torch.cat([c, h], dim=0)  # [2N, D]: the candidates E1, then E0
    factor, info = torch.linalg.cholesky_ex(rows @ rows.T)
    # diag(L)_k² is candidate k's squared distance from the span of the candidates before it:
    # all of them clearly positive <=> linearly independent <=> unique coefficients
    unique = info.item() == 0 and factor.diagonal().min().item() ** 2 > _INDEPENDENCE_TOL
    if unique:
        solution = torch.cholesky_solve(rows @ g.T, factor).T  # [N, 2N]
    else:  # minimum-norm least squares
        u, sv, vh = torch.linalg.svd(rows, full_matrices=False)
        keep = sv > sv.max() * max(n, d) * torch.finfo(torch.float64).eps
        solution = ((g @ vh[keep].T) / sv[keep]) @ u[:, keep].T
    residual = ((g - solution @ rows).norm() / scale).item()
    inview = solution[:, n:].clone().fill_diagonal_(0.0)
    return Decomposition(solution[:, :n].clone(), inview, residual, True, unique)


def _mean_or_nan(values: Tensor, keep: Tensor) -> float:
    return values[keep].mean().item() if bool(keep.any()) else math.nan


def _median_or_nan(values: Tensor, keep: Tensor) -> float:
    return values[keep].double().quantile(0.5).item() if bool(keep.any()) else math.nan


def measure_gradient_components(
    loss: nn.Module, z0: Tensor, z1: Tensor, *, active_rtol: float = 1e-3
) -> dict[str, float]:
    """GD / W / R measured from the autograd gradient of any loss module (see module docstring).

    ``z0``, ``z1``: the two views ``[N, D]`` (any dtype/device; detached internally, the caller's
    graph is untouched).  Returns plain floats: ``gd_active_frac``, ``w_hardest_share``,
    ``r_effective``, ``grad_norm_mean``, ``decomp_residual``, ``decomp_inview``, ``decomp_unique``.
    ``w_hardest_share`` / ``r_effective`` are NaN when no anchor qualifies (e.g. every gate closed).
    """
    grad, e0, e1 = anchor_gradient(loss, z0, z1)
    dec = decompose_gradient(grad, e0, e1)
    norms = grad.detach().to("cpu", torch.float64).norm(dim=1)
    top = norms.max()
    active = norms > active_rtol * top if top > 0 else torch.zeros_like(norms, dtype=torch.bool)

    push = (dec.cross + dec.inview).fill_diagonal_(0.0)
    _, hardest = hardest_negative(e0.to("cpu", torch.float64) @ e1.to("cpu", torch.float64).T)
    push_abs = push.abs().sum(1)
    share = push.abs().gather(1, hardest[:, None]).squeeze(1) / push_abs.clamp_min(1e-300)
    net_push = push.sum(1)
    ratio = -dec.cross.diagonal() / net_push.clamp_min(1e-300)
    return {
        "gd_active_frac": active.double().mean().item(),
        "w_hardest_share": _mean_or_nan(share, active & (push_abs > 0)),
        "r_effective": _median_or_nan(ratio, active & (net_push > 1e-6 * push_abs)),
        "grad_norm_mean": norms.mean().item(),
        "decomp_residual": dec.residual,
        "decomp_inview": float(dec.inview_used),
        "decomp_unique": float(dec.unique),
    }
