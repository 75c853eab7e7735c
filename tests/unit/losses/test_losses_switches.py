"""Each switch does what method.md §5 says, for every loss that has it (property tests).

* gd: rows whose gate is closed get exactly zero gradient, rows whose gate is open do not;
* weight: the hardest negative's share of the push rises as τ falls (MHS: no effect at all);
* ratio: the measured pull/push ratio scales with r (off: r has no effect).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from gradparadigm.losses import build_loss, closed_form_components, measure_gradient_components
from gradparadigm.losses.geometry import hardest_negative, normalize, normalize_pair

from losses_testkit import (
    NONCONTRASTIVE,
    PROPERTY,
    SEEDS,
    cosine_gaps,
    make_views,
    raw_grads,
    same_view_gaps,
    splitting_margin,
)

TAUS_FALLING = (2.0, 0.5, 0.1, 0.03)


@PROPERTY
@given(
    name=st.sampled_from(NONCONTRASTIVE),
    weight=st.booleans(),
    ratio=st.booleans(),
    n=st.integers(3, 9),
    d=st.integers(2, 10),
    seed=SEEDS,
)
def test_gd_closed_rows_get_exactly_zero_gradient(name, weight, ratio, n, d, seed):
    z0, z1 = make_views(seed, n, d)
    e0, e1 = normalize_pair(z0, z1)
    m = splitting_margin(same_view_gaps(e0))  # half of view 0's gates open, half closed
    assume(m is not None)
    grads = raw_grads(build_loss(name, gd=True, weight=weight, ratio=ratio, m=m), z0, z1)
    for e, grad in zip((e0, e1), grads):
        open_rows = same_view_gaps(e) < m
        assert torch.all(grad[~open_rows] == 0)
        assert torch.all(grad[open_rows].norm(dim=1) > 0)
    assert (same_view_gaps(e0) >= m).any()


@PROPERTY
@given(n=st.integers(2, 9), d=st.integers(2, 10), seed=SEEDS)
def test_sg_gd_zero_gradient_where_both_directions_are_closed(n, d, seed):
    z0, z1 = make_views(seed, n, d, noise=1.0)
    e0, e1 = normalize_pair(z0, z1)
    sim = e0 @ e1.T
    m = splitting_margin(cosine_gaps(sim))
    assume(m is not None)
    g0, g1 = raw_grads(build_loss("sg", m=m), z0, z1)
    closed_forward = cosine_gaps(sim) >= m  # gate of anchor e0_i (row i)
    closed_swapped = cosine_gaps(sim.T) >= m  # gate of anchor e1_i (column i)
    for grad, closed in (
        (g0, closed_forward & closed_swapped),
        (g1, closed_forward & closed_swapped),
    ):
        assert torch.all(grad[closed] == 0)
        assert torch.all(grad[~closed].norm(dim=1) > 0)


def aligned_views(seed: int, n: int, d: int):
    """Views close enough that every anchor's hardest negative is the same in S_01, S_00, S_11."""
    z0, z1 = make_views(seed, n, d, noise=0.05)
    e0, e1 = normalize_pair(z0, z1)
    same = [hardest_negative(s)[1] for s in (e0 @ e1.T, e0 @ e0.T, e1 @ e1.T)]
    return z0, z1, bool(torch.equal(same[0], same[1]) and torch.equal(same[0], same[2]))


@PROPERTY
@given(
    name=st.sampled_from(["sg", "mhe", "barlow_twins", "vicreg"]),
    n=st.integers(3, 7),
    extra=st.integers(0, 6),
    seed=SEEDS,
)
def test_weight_hardest_share_rises_as_tau_falls(name, n, extra, seed):
    z0, z1, aligned = aligned_views(seed, n, 2 * n + extra)  # 2N <= D: unique decomposition
    assume(aligned)
    shares = []
    for tau in TAUS_FALLING:
        loss = build_loss(name, gd=False, weight=True, ratio=True, tau=tau)
        stats = measure_gradient_components(loss, z0, z1)
        assert stats["decomp_residual"] < 1e-4 and stats["decomp_unique"] == 1.0
        shares.append(stats["w_hardest_share"])
    assert all(a < b for a, b in zip(shares, shares[1:])), shares
    assert shares[-1] > 1 / (n - 1)


@PROPERTY
@given(n=st.integers(2, 9), d=st.integers(2, 10), seed=SEEDS)
def test_sg_weight_share_closed_form_rises_and_weight_off_is_uniform(n, d, seed):
    z0, z1 = make_views(seed, n, d)
    hardest = hardest_negative(normalize(z0) @ normalize(z1).T)[1][:, None]
    shares = [
        closed_form_components("sg", z0, z1, tau=tau).weight.gather(1, hardest).mean().item() for tau in TAUS_FALLING
    ]
    assert all(a <= b for a, b in zip(shares, shares[1:]))
    uniform = closed_form_components("sg", z0, z1, weight=False).weight.gather(1, hardest)
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / (n - 1)))


@pytest.mark.parametrize("others", [{}, {"gd": True, "m": 1.5}, {"ratio": True}])
def test_mhs_weight_switch_has_no_effect(others):
    z0, z1 = make_views(3, 8, 6)
    off = raw_grads(build_loss("mhs", weight=False, **others), z0, z1)
    on = raw_grads(build_loss("mhs", weight=True, **others), z0, z1)
    for a, b in zip(off, on):
        assert torch.equal(a, b)


@PROPERTY
@given(
    name=st.sampled_from(["sg", *NONCONTRASTIVE]),
    n=st.integers(3, 7),
    extra=st.integers(0, 6),
    seed=SEEDS,
)
def test_ratio_scales_measured_pull_push_ratio_with_r(name, n, extra, seed):
    z0, z1 = make_views(seed, n, 2 * n + extra, noise=0.3)
    measured = {}
    for r in (1.0, 2.0):
        loss = build_loss(name, gd=False, weight=True, ratio=True, r=r)
        # active_rtol=0: average over every anchor with a gradient.  With the default 1e-3 the
        # active set itself depends on r (the pull grows with r, the push does not).
        stats = measure_gradient_components(loss, z0, z1, active_rtol=0.0)
        measured[r] = stats["r_effective"]
    assert measured[1.0] > 0
    assert measured[2.0] == pytest.approx(2 * measured[1.0], rel=1e-8)
    if name == "sg":  # both directions pull the un-detached positive: effective R = 2r exactly
        assert measured[1.0] == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize("name", ["sg", *NONCONTRASTIVE])
def test_ratio_off_ignores_r(name):
    z0, z1 = make_views(8, 6, 9)
    base = {"gd": False, "weight": True, "ratio": False}
    one = raw_grads(build_loss(name, **base, r=1.0), z0, z1)
    two = raw_grads(build_loss(name, **base, r=2.0), z0, z1)
    for a, b in zip(one, two):
        assert torch.equal(a, b)
