"""Hand-computed values on one 3x2 batch, for every loss: redo any of them with a calculator.

The batch (raw, the losses normalise it):

    z0 = (2, 0), (0, 1), (-1, 0)      ->  e0 = (1, 0), (0, 1), (-1, 0)
    z1 = (3, 4), (-4, 3), (-3, -4)    ->  e1 = (.6, .8), (-.8, .6), (-.6, -.8)

(view 1 is view 0 rotated by 53.13°, cos = 0.6).  Cross cosines S_01 = e0 e1ᵀ, row = anchor:

    row 0: [ .6, -.8, -.6]   positive .6, hardest negative j*=2 (-.6)
    row 1: [ .8,  .6, -.8]   positive .6, hardest negative j*=0 (.8)
    row 2: [-.6,  .8,  .6]   positive .6, hardest negative j*=1 (.8)

In-view cosines are the same in both views: pairs (0,1): 0, (0,2): -1, (1,2): 0.
Every positive pair has ||e0_i − e1_i||² = 2 − 2(.6) = 0.8.
"""

from __future__ import annotations

import math

import pytest
import torch

from gradparadigm.losses import build_loss

Z0 = torch.tensor([[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
Z1 = torch.tensor([[3.0, 4.0], [-4.0, 3.0], [-3.0, -4.0]], dtype=torch.float64)
exp, log, sqrt = math.exp, math.log, math.sqrt


def value(name: str, **hp) -> float:
    return build_loss(name, **hp)(Z0, Z1).item()


def test_infonce():
    # τ = .05, logits s/τ: row 0 [12, -16, -12], row 1 [16, 12, -16], row 2 [-12, 16, 12].
    # row 0: -12 + log(e^12 + e^-16 + e^-12) = log(1 + e^-28 + e^-24)          ≈ 3.8e-11
    # row 1: -12 + log(e^16 + e^12 + e^-16) = 4 + log(1 + e^-4 + e^-32)        ≈ 4.0181499
    # row 2: the same as row 1.  Mean ≈ 2.6787666
    rows = [log(1 + exp(-28) + exp(-24)), 4 + log(1 + exp(-4) + exp(-32))]
    expected = (rows[0] + 2 * rows[1]) / 3
    assert value("infonce") == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(2.6787666, abs=1e-7)


def test_arccon():
    # θ_ii = acos(.6) = .9272952; + u (π/18) = 1.1018281; cos = .4519661; / τ (.05): c = 9.0393222
    # row 0: -c + log(e^c + e^-16 + e^-12)                                     ≈ 0
    # row 1: -c + log(e^c + e^16 + e^-16) = (16 - c) + log(1 + e^(c-16) + e^-32)
    #        = 6.9606778 + .0009480 = 6.9616258
    # row 2: negatives e^-12, e^16: the same up to e^-28.  Mean = 2(6.9616258)/3 = 4.6410839
    c = math.cos(math.acos(0.6) + math.pi / 18) / 0.05
    rows = [
        -c + log(exp(c) + exp(-16) + exp(-12)),
        -c + log(exp(c) + exp(16) + exp(-16)),
        -c + log(exp(c) + exp(-12) + exp(16)),
    ]
    assert value("arccon") == pytest.approx(sum(rows) / 3, rel=1e-12)
    assert sum(rows) / 3 == pytest.approx(4.6410839, abs=1e-7)


def test_mpt():
    # relu(s_ij* − s_ii + .23): row 0: -.6 - .6 + .23 < 0 -> 0; rows 1, 2: .8 - .6 + .23 = .43
    # mean = .86 / 3 = .2866667
    assert value("mpt") == pytest.approx(0.86 / 3, rel=1e-12)


def test_mpt_gradient_by_hand():
    # Anchor 1: (1/3)(e1_0 − e1_1) = (1/3)(1.4, .2); tangent at e0_1 = (0, 1) keeps x: (.466667, 0)
    # The raw z0_1 has norm 1, so this is also the gradient on z0_1.  Anchor 0's hinge is off: 0.
    z0 = Z0.clone().requires_grad_(True)
    build_loss("mpt")(z0, Z1).backward()
    assert z0.grad[1].tolist() == pytest.approx([1.4 / 3, 0.0], abs=1e-12)
    assert z0.grad[0].tolist() == [0.0, 0.0]


def test_met():
    # d = sqrt(2 - 2s): d_ii = sqrt(.8) = .8944272; row 1/2 nearest negative sqrt(.4) = .6324555,
    # row 0 sqrt(3.2) = 1.7888544 (hinge off).  rows 1, 2: .8944272 - .6324555 + .45 = .7119717
    # mean = 2(.7119717)/3 = .4746478
    hinge = sqrt(0.8) - sqrt(0.4) + 0.45
    assert value("met") == pytest.approx(2 * hinge / 3, rel=1e-12)
    assert 2 * hinge / 3 == pytest.approx(0.4746478, abs=1e-7)


def test_mat():
    # θ_ii = acos(.6) = .9272952; rows 1, 2: hardest θ = acos(.8) = .6435011;
    # .9272952 - .6435011 + .15π (.4712389) = .7550330; row 0: acos(-.6) = 2.2142974 (off)
    # mean = 2(.7550330)/3 = .5033553
    hinge = math.acos(0.6) - math.acos(0.8) + 0.15 * math.pi
    assert value("mat") == pytest.approx(2 * hinge / 3, rel=1e-12)
    assert 2 * hinge / 3 == pytest.approx(0.5033553, abs=1e-7)


def test_mhe_ori_and_mod():
    # ori (λ=10): each view's pairs are 0, -1, 0 -> U = log(e^0 + e^-1 + e^0) = log(2.3678794)
    #   = .8619948
    # L = 10 (U_0 + U_1) + mean ||e0_i − e1_i||² = 20(.8619948) + .8 = 18.0398966
    assert value("mhe") == pytest.approx(20 * log(2 + exp(-1)) + 0.8, rel=1e-12)
    # mod (λ=1, τ=.05, r=1.75, gd on): U = log(2 + e^-20) per view.  a_i = 20 Σ_{j≠i} e^{s_ij/τ} / Z
    # sums to 20·2 = 40 over i (each pair counted twice), per view; the alignment term is
    # Σ_i .8 · 1.75 · (a_0,i + a_1,i)/2 = .8 · 1.75 · 40 = 56.
    # L = 2 log(2 + e^-20) + 56 = 57.3862944
    # (every gate is closed here: 1 − max in-view cosine = 1 >= .3, so the value is unchanged)
    mod = value("mhe", gd=True, weight=True, ratio=True)
    assert mod == pytest.approx(2 * log(2 + exp(-20)) + 56, rel=1e-12)


def test_mhs_ori_and_mod():
    # dist = sqrt(2 − 2s + 1e-4).  Nearest other-view negative, view 0 (rows of S_01): -.6, .8, .8;
    # view 1 (columns of S_01): s = .8, .8, -.6.  So both views: one sqrt(3.2001), two sqrt(.4001).
    # ori (λ=1): L = -2 (sqrt(3.2001) + 2 sqrt(.4001))/3 + .8 = -1.2359676
    far, near = sqrt(3.2001), sqrt(0.4001)
    ori = -2 * (far + 2 * near) / 3 + 0.8
    assert value("mhs") == pytest.approx(ori, rel=1e-12)
    assert ori == pytest.approx(-1.2359676, abs=1e-7)
    # mod (r=1.75): alignment mean_i .8 · 1.75 (1/d_0,i + 1/d_1,i)/2 = (.7/3)(2/far + 4/near)
    #   = (.7/3)(1.1180170 + 6.3237648) = 1.7364157;  L = -2.0359676 + 1.7364157 = -.2995520
    mod = -2 * (far + 2 * near) / 3 + 0.7 / 3 * (2 / far + 4 / near)
    assert value("mhs", gd=True, ratio=True) == pytest.approx(mod, rel=1e-12)


# Mod Barlow Twins and mod VICReg (λ=1, τ=.05, r=1.5) give the same number here: BT weights an
# anchor's push by the other view's cosines and VICReg by its own, and both views have the same
# in-view cosines.  Over the 6 off-diagonal entries (four 0s, two -1s):
#   W = 1/Z, or e^-20/Z at the pairs (0,2) and (2,0), with Z = 4 + 2e^-20.
# Per view order: push Σ_ij W_ij e0_i·e0_j = 2(e^-20/Z)(-1); pull -1.5 Σ_i ΣW_i (.6) = -1.5·1·.6 = -.9.
# Both orders alike: L = 2(-.9 - 2e^-20/Z) = -1.8 - 4e^-20/(4 + 2e^-20) ≈ -1.8
CORRELATION_MOD = -1.8 - 4 * exp(-20) / (4 + 2 * exp(-20))


def test_barlow_twins_ori_and_mod():
    # C = e0ᵀ e1 / 3: C_00 = (.6 + .6)/3 = .4, C_01 = (.8 + .8)/3, C_10 = -.8/3, C_11 = .6/3 = .2
    # L_B = (1 − .4)² + (1 − .2)² + 30 [(1.6/3)² + (.8/3)²] = 1 + 30 (3.2/9) = 11.6666667
    assert value("barlow_twins") == pytest.approx(1 + 30 * 3.2 / 9, rel=1e-12)
    # mod: see CORRELATION_MOD
    mod = value("barlow_twins", gd=True, weight=True, ratio=True)
    assert mod == pytest.approx(CORRELATION_MOD, rel=1e-12)


def test_vicreg_ori_and_mod():
    # C_0 = diag(2, 1)/3 -> ||C_0||² = 5/9; e1ᵀe1 = [[1.36, .48], [.48, 1.64]] -> ||C_1||² = 5.0/9
    # L = .8 + (30/2)(10/9) = 17.4666667
    assert value("vicreg") == pytest.approx(0.8 + 15 * 10 / 9, rel=1e-12)
    # mod: see CORRELATION_MOD
    mod = value("vicreg", gd=True, weight=True, ratio=True)
    assert mod == pytest.approx(CORRELATION_MOD, rel=1e-12)


def test_sg():
    # Defaults m=.3, τ=.05, r=1.  Gates (s_ii − max neg < .3): rows 0,1,2 of S_01: 1.2, -.2, -.2 ->
    # row 0 closed; columns (swapped direction): -.2, -.2, 1.2 -> column 2 closed.
    # Open rows: Σ_j W_ij s_ij − .6 with W = softmax over the two negatives at τ=.05:
    #   row 1 (.8, -.8): .8 tanh(16) − .6 ≈ .2
    #   row 2 (-.6, .8): (.8 − .6e^-28)/(1 + e^-28) − .6 ≈ .2
    #   column 0 (.8, -.6) = row 2's value;  column 1 (-.8, .8) = row 1's value.
    # L = (1/3)(row1 + row2) + (1/3)(col0 + col1) ≈ (2/3)(.4) = .2666667
    row1 = 0.8 * math.tanh(16) - 0.6
    row2 = (0.8 - 0.6 * exp(-28)) / (1 + exp(-28)) - 0.6
    assert value("sg") == pytest.approx(2 * (row1 + row2) / 3, rel=1e-12)
    # gd off: row 0 (-.8, -.6) and column 2 (-.6, -.8) join, τ=1: each is
    # (-.8 e^-.8 − .6 e^-.6)/(e^-.8 + e^-.6) − .6;  rows 1/col 1: .8 tanh(.8) − .6;
    # row 2/col 0: (.8 e^.8 − .6 e^-.6)/(e^.8 + e^-.6) − .6
    far = (-0.8 * exp(-0.8) - 0.6 * exp(-0.6)) / (exp(-0.8) + exp(-0.6)) - 0.6
    mid = 0.8 * math.tanh(0.8) - 0.6
    near = (0.8 * exp(0.8) - 0.6 * exp(-0.6)) / (exp(0.8) + exp(-0.6)) - 0.6
    assert value("sg", gd=False, tau=1.0) == pytest.approx(2 * (far + mid + near) / 3, rel=1e-12)
