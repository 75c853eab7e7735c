"""Empirical GD / W / R from autograd (``measure_gradient_components``) for any loss."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from gradparadigm.losses import (
    LOSS_NAMES,
    build_loss,
    closed_form_components,
    decompose_gradient,
    measure_gradient_components,
    paradigm_gradient,
)
from gradparadigm.losses.geometry import hardest_negative

from losses_testkit import (
    NONCONTRASTIVE,
    PROPERTY,
    SEEDS,
    make_views,
    margin_gaps,
    splitting_margin,
    unit_views,
)

KEYS = {
    "gd_active_frac",
    "w_hardest_share",
    "r_effective",
    "grad_norm_mean",
    "decomp_residual",
    "decomp_inview",
    "decomp_unique",
}
CONTRASTIVE = ("infonce", "arccon", "mpt", "met", "mat")


def split_gates(name: str, e0: torch.Tensor, e1: torch.Tensor) -> dict:
    """Margin losses: an m that closes half of the gates; InfoNCE / ArcCon: defaults."""
    if name in ("infonce", "arccon"):
        return {}
    return {"m": splitting_margin(margin_gaps(name, e0 @ e1.T))}


@PROPERTY
@given(
    name=st.sampled_from(CONTRASTIVE),
    shape=st.sampled_from([(6, 16), (9, 12), (4, 5)]),  # 2N <= D, N < D < 2N, N + 1 = D
    seed=SEEDS,
)
def test_decomposition_recovers_closed_form_coefficients(name, shape, seed):
    """c_ij = factor·GD·W_ij (j≠i), c_ii = −factor·GD·R·ΣW, anchor by anchor, from view 1 only."""
    n, d = shape
    e0, e1 = unit_views(seed, n, d, noise=1.0)
    hp = split_gates(name, e0, e1)
    assume(None not in hp.values())
    gd, weight, ratio, factor = comps = closed_form_components(name, e0, e1, **hp)
    dec = decompose_gradient(paradigm_gradient(comps, e0, e1), e0, e1)
    expected = factor * gd[:, None] * weight
    expected.diagonal().copy_(-factor * gd * ratio * weight.sum(1))
    assert not dec.inview_used and dec.unique and dec.residual < 1e-9
    torch.testing.assert_close(dec.cross, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", CONTRASTIVE)
@pytest.mark.parametrize("shape", [(8, 24), (12, 16)])
def test_measured_figures_equal_closed_form_figures(name, shape):
    n, d = shape
    z0, z1 = make_views(21, n, d, noise=1.0)
    e0, e1 = unit_views(21, n, d, noise=1.0)
    hp = split_gates(name, e0, e1)
    _, weight, ratio, _ = comps = closed_form_components(name, z0, z1, **hp)
    norms = paradigm_gradient(comps, e0, e1).norm(dim=1)
    active = norms > 1e-3 * norms.max()
    hardest = hardest_negative(e0 @ e1.T)[1]
    share = weight.gather(1, hardest[:, None]).squeeze(1) / weight.sum(1)
    stats = measure_gradient_components(build_loss(name, **hp), z0, z1)
    assert set(stats) == KEYS
    if name in ("mpt", "met", "mat"):
        assert 0 < active.sum() < n  # the margin closes some gates
    assert stats["gd_active_frac"] == pytest.approx(active.double().mean().item())
    assert stats["w_hardest_share"] == pytest.approx(share[active].mean().item(), rel=1e-7)
    assert stats["r_effective"] == pytest.approx(ratio[active].double().quantile(0.5).item(), rel=1e-7)
    assert stats["decomp_inview"] == 0.0 and stats["decomp_unique"] == 1.0


def test_residual_and_uniqueness_flags_tell_when_figures_are_approximate():
    z0, z1 = make_views(5, 6, 20, noise=0.3)  # 2N <= D
    exact = {
        "vicreg": {},
        "mhe": {},
        "barlow_twins": {"weight": True, "ratio": True},
    }
    for name, hp in exact.items():
        stats = measure_gradient_components(build_loss(name, **hp), z0, z1)
        assert stats["decomp_inview"] == 1.0 and stats["decomp_unique"] == 1.0
        assert stats["decomp_residual"] < 1e-5, name
    # BT-ori's (1 − (1−λ)C_dd) ⊙ e1_i term is element-wise: not a combination of the embeddings
    stats = measure_gradient_components(build_loss("barlow_twins"), z0, z1)
    assert stats["decomp_residual"] > 1e-3
    # N < D < 2N: a loss with in-view terms cannot be decomposed uniquely, and says so
    z0, z1 = make_views(5, 12, 16, noise=0.3)
    stats = measure_gradient_components(build_loss("mhe"), z0, z1)
    assert stats["decomp_inview"] == 1.0 and stats["decomp_unique"] == 0.0
    # ... while a loss without in-view terms still can
    stats = measure_gradient_components(build_loss("mhs"), z0, z1)
    assert stats["decomp_inview"] == 0.0 and stats["decomp_unique"] == 1.0
    assert stats["decomp_residual"] < 1e-5


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_measure_leaves_the_callers_graph_alone(name):
    encoder = torch.nn.Linear(10, 8)
    x0, x1 = make_views(6, 7, 10, dtype=torch.float32)
    z0, z1 = encoder(x0), encoder(x1)
    stats = measure_gradient_components(build_loss(name), z0, z1)
    assert encoder.weight.grad is None and z0.grad_fn is not None
    with torch.no_grad():  # the trainer may call it inside no_grad
        again = measure_gradient_components(build_loss(name), z0, z1)
    assert set(stats) == KEYS and all(type(v) is float for v in stats.values())
    assert stats == pytest.approx(again, nan_ok=True)
    json.dumps(stats)  # plain floats


def test_all_gates_closed_reports_no_active_anchor():
    z0, z1 = make_views(7, 6, 9)
    stats = measure_gradient_components(build_loss("sg", m=-5.0), z0, z1)
    assert stats["gd_active_frac"] == 0.0 and stats["grad_norm_mean"] == 0.0
    assert math.isnan(stats["w_hardest_share"]) and math.isnan(stats["r_effective"])


@pytest.mark.parametrize("name", ["infonce", *NONCONTRASTIVE])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_measure_accepts_low_precision_and_tiny_dimensions(name, dtype):
    for n, d in ((4, 1), (2, 3), (6, 8)):
        z0, z1 = make_views(8, n, d, dtype=torch.float32)
        stats = measure_gradient_components(build_loss(name), z0.to(dtype), z1.to(dtype))
        assert set(stats) == KEYS
        assert math.isfinite(stats["gd_active_frac"]) and math.isfinite(stats["decomp_residual"])
