"""Barlow Twins / VICReg against the official code's surrogate, and the MHE / MHS modifications.

The surrogate below is written from method.md §4–5 (per view order (a, b), summed over both):
``Σ_i [pos_i + λ neg_i]`` with ``neg_i = Σ_j W_ij (a_i·sg(a_j))`` *including* j = i (as the official
code does) and

* weight off: ``W = (2/N²) S`` (BT: S = b bᵀ, VICReg: S = a aᵀ);
  on: ``exp(S/τ) / Σ_{k≠l} exp(S_kl/τ)``;
* ratio off: BT ``pos_i = −(2/N) Σ_d (1 − (1−λ) C_dd) a_i[d] sg(b_i[d])``, VICReg
  ``pos_i = −(2/N) a_i·sg(b_i)``; on: ``pos_i = −λ r (Σ_{j≠i} W_ij)(a_i·b_i)``.

Gradients are compared on the raw embeddings (through the normalisation), as training sees them.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gradparadigm.losses import build_loss, decompose_gradient
from gradparadigm.losses.components import detach_closed_rows
from gradparadigm.losses.geometry import normalize, tangent_project

from losses_testkit import (
    PROPERTY,
    SEEDS,
    SWITCH_COMBOS,
    make_views,
    raw_grads,
    unit_views,
)

TOL = {"rtol": 1e-9, "atol": 1e-12}


def surrogate(name, z0, z1, *, lam, tau, r, m, gd, weight, ratio):
    """method.md §4–5 surrogate of barlow_twins / vicreg (see module docstring)."""
    e0, e1 = normalize(z0), normalize(z1)
    if gd:
        for_gate = [(1 - (e @ e.T - 3 * torch.eye(len(e), dtype=e.dtype)).max(1).values) < m for e in (e0, e1)]
        e0, e1 = detach_closed_rows(e0, for_gate[0]), detach_closed_rows(e1, for_gate[1])
    n = e0.shape[0]
    off = 1 - torch.eye(n, dtype=e0.dtype)
    total = 0.0
    for a, b in ((e0, e1), (e1, e0)):
        s = (b @ b.T if name == "barlow_twins" else a @ a.T).detach()
        if weight:
            w = torch.exp(s / tau) / (torch.exp(s / tau) * off).sum()
        else:
            w = 2 * s / n**2
        neg = torch.einsum("ij,ij->i", w, a @ a.detach().T)
        if ratio:
            pos = -lam * r * (w * off).sum(1) * torch.einsum("id,id->i", a, b)
        elif name == "barlow_twins":
            c_diag = torch.einsum("id,id->d", a, b).detach() / n
            pos = -(2 / n) * torch.einsum("d,id,id->i", 1 - (1 - lam) * c_diag, a, b.detach())
        else:
            pos = -(2 / n) * torch.einsum("id,id->i", a, b.detach())
        total = total + (pos + lam * neg).sum()
    return total


@PROPERTY
@given(
    name=st.sampled_from(["barlow_twins", "vicreg"]),
    switches=st.sampled_from(SWITCH_COMBOS),
    n=st.integers(2, 9),
    d=st.integers(1, 10),
    seed=SEEDS,
)
def test_explicit_loss_gradient_equals_surrogate_in_both_view_orders(name, switches, n, d, seed):
    z0, z1 = make_views(seed, n, d, noise=0.4)
    loss = build_loss(name, **switches, m=0.6, tau=0.3)
    hp = loss.hparams
    oracle = lambda a, b: surrogate(name, a, b, **hp)  # noqa: E731
    for first, second in ((z0, z1), (z1, z0)):
        ours = raw_grads(loss, first, second)
        theirs = raw_grads(oracle, first, second)
        for mine, ref in zip(ours, theirs):
            torch.testing.assert_close(mine, ref, **TOL)


def test_barlow_twins_ori_value_is_textbook_and_symmetric():
    z0, z1 = make_views(5, 7, 4)
    e0, e1 = normalize(z0), normalize(z1)
    c = e0.T @ e1 / 7
    off = 1 - torch.eye(4, dtype=c.dtype)
    lam = 30.0
    expected = (1 - c.diagonal()).pow(2).sum() + lam * (c.pow(2) * off).sum()
    loss = build_loss("barlow_twins")
    torch.testing.assert_close(loss(z0, z1), expected, **TOL)
    torch.testing.assert_close(loss(z1, z0), expected, **TOL)


def test_barlow_twins_ori_full_gradient_is_method_md_formula():
    """∂L_B/∂e0_i = (2/N)[λ(1/N) Σ_j (e1_i·e1_j) e0_j − (1 − (1−λ)C_dd) ⊙ e1_i], unprojected."""
    e0, e1 = unit_views(2, 6, 5)
    lam, n = 30.0, 6
    leaf = e0.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(build_loss("barlow_twins").loss_on_sphere(leaf, e1), leaf)
    c_diag = (e0 * e1).sum(0) / n
    expected = (2 / n) * (lam / n * (e1 @ e1.T) @ e0 - (1 - (1 - lam) * c_diag) * e1)
    torch.testing.assert_close(grad, expected, **TOL)


def test_vicreg_ori_value_and_tangent_gradient_are_method_md():
    e0, e1 = unit_views(4, 6, 5)
    lam, n = 30.0, 6
    c0, c1 = e0.T @ e0 / n, e1.T @ e1 / n
    expected = (e0 - e1).pow(2).sum(1).mean() + lam / 2 * (c0.pow(2).sum() + c1.pow(2).sum())
    loss = build_loss("vicreg")
    torch.testing.assert_close(loss.loss_on_sphere(e0, e1), expected, **TOL)
    leaf = e0.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss.loss_on_sphere(leaf, e1), leaf)
    formula = lam * 2 / n**2 * (e0 @ e0.T) @ e0 - (2 / n) * e1  # method.md §4
    torch.testing.assert_close(tangent_project(grad, e0), tangent_project(formula, e0), **TOL)


@pytest.mark.parametrize(("weight", "ratio"), list(itertools.product((False, True), repeat=2)))
def test_mhe_push_and_pull_coefficients(weight, ratio):
    """MHE: the push on e0_i (coefficients on the other embeddings) has total mass λ·a_0,i at the
    temperature in use (τ with weight on, 1 without); the pull on e1_i is 2·w_i, the derivative of
    ||e0_i − e1_i||²·w_i, with w_i = (a_0,i + a_1,i)/2 (weight on) or 1/N (off), times r if ratio.
    """
    e0, e1 = unit_views(11, 6, 16, noise=0.3)  # 2N <= D: the decomposition is unique
    tau, r, lam = 0.2, 1.6, 1.0
    loss = build_loss("mhe", weight=weight, ratio=ratio, tau=tau, r=r, lam=lam)
    leaf = e0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss.loss_on_sphere(leaf, e1), leaf)
    dec = decompose_gradient(tangent_project(g, e0), e0, e1)
    assert dec.unique and dec.residual < 1e-10
    t = tau if weight else 1.0

    def share(e):  # (1/t) Σ_{j≠i} e^{s_ij/t} / Σ_{k<l} e^{s_kl/t}
        k = torch.exp(e @ e.T / t) * (1 - torch.eye(6, dtype=e.dtype))
        return k.sum(1) / (k.sum() / 2) / t

    push_total = dec.inview.sum(1) + dec.cross.sum(1) - dec.cross.diagonal()
    torch.testing.assert_close(push_total, lam * share(e0), rtol=1e-8, atol=1e-10)
    pull = (share(e0) + share(e1)) / 2 if weight else torch.full((6,), 1 / 6, dtype=e0.dtype)
    pull = pull * (r if ratio else 1.0)
    torch.testing.assert_close(-dec.cross.diagonal(), 2 * pull, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("ratio", [False, True])
def test_mhs_push_is_one_hot_and_pull_is_r_over_d(ratio):
    """MHS: push on e0_i is λ/(N d_0,i) on its nearest other-view negative; pull is
    r (1/d_0,i + 1/d_1,i)/N with ratio on, 2/N without."""
    e0, e1 = unit_views(12, 6, 16, noise=0.3)
    r, lam, n = 1.75, 2.0, 6
    loss = build_loss("mhs", ratio=ratio, r=r, lam=lam)
    leaf = e0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss.loss_on_sphere(leaf, e1), leaf)
    dec = decompose_gradient(tangent_project(g, e0), e0, e1)
    assert not dec.inview_used and dec.residual < 1e-10

    def dist(x, y):
        return torch.sqrt(torch.cdist(x, y).pow(2) + 1e-4) + 9 * torch.eye(n, dtype=x.dtype)

    d0, j0 = dist(e0, e1).min(1)
    d1 = dist(e1, e0).min(1).values
    push = dec.cross.clone().fill_diagonal_(0)
    expected_push = torch.zeros_like(push).scatter(1, j0[:, None], (lam / (n * d0))[:, None])
    torch.testing.assert_close(push, expected_push, rtol=1e-8, atol=1e-10)
    pull = r * (1 / d0 + 1 / d1) / n if ratio else torch.full_like(d0, 2 / n)
    torch.testing.assert_close(-dec.cross.diagonal(), pull, rtol=1e-8, atol=1e-10)
