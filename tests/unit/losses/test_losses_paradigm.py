"""The composable ``paradigm`` loss: every combination of parts against autograd, each part against
its formula and the closed form it comes from, ``sg`` as one of its settings, validation by key."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from gradparadigm.losses import build_loss, closed_form_components, paradigm_gradient, resolve_hparams
from gradparadigm.losses.base import HparamError
from gradparadigm.losses.geometry import hardest_negative, tangent_project
from gradparadigm.losses.paradigm_parts import PARTS, part_values

from losses_testkit import cosine_gaps, sphere_grad, splitting_margin, unit_views

TOL = {"rtol": 1e-9, "atol": 1e-12}  # float64
GD = [{"kind": "margin"}, {"kind": "soft", "tau": 0.2}, {"kind": "none"}]
WEIGHT = [{"kind": "softmax", "tau": 0.3}, {"kind": "power", "power": 3}, {"kind": "uniform"}, {"kind": "hardest"}]
RATIO = [{"kind": "constant", "r": 1.7}, {"kind": "arccon", "u": 0.3}, {"kind": "met"}, {"kind": "mat"}]
COMBOS = list(itertools.product(GD, WEIGHT, RATIO))


def combo_id(combo) -> str:
    return "-".join(part["kind"] for part in combo)


def test_the_combinations_cover_every_kind():
    for part, specs in zip(("gd", "weight", "ratio"), (GD, WEIGHT, RATIO)):
        assert [spec["kind"] for spec in specs] == list(PARTS[part])


def batch(seed: int, n: int = 7, d: int = 9):
    """Unit views with some gates of a margin open and some closed (the margin splits the gaps)."""
    e0, e1 = unit_views(seed, n, d, noise=1.0)
    return e0, e1, splitting_margin(cosine_gaps(e0 @ e1.T))


def parts_of(combo, m: float) -> dict:
    gd, weight, ratio = combo
    gd = {**gd, "m": m} if gd["kind"] == "margin" else gd
    return {"gd": gd, "weight": weight, "ratio": ratio}


@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_equals_the_closed_form_in_both_directions(combo, seed):
    e0, e1, m = batch(seed)
    loss = build_loss("paradigm", **parts_of(combo, m))
    forward = closed_form_components("paradigm", e0, e1, **loss.hparams)
    # one direction: exactly factor · GD_i · Σ_j W_ij (e1_j − R_i e1_i), tangent part
    actual = sphere_grad(loss.direction_loss, e0, e1)
    torch.testing.assert_close(actual, paradigm_gradient(forward, e0, e1), **TOL)
    assert forward.factor == pytest.approx(1 / 7)
    if combo[0]["kind"] == "margin":  # the split margin closes some gates: no gradient there
        closed = forward.gd == 0
        assert closed.any() and (~closed).any() and torch.all(actual[closed] == 0)
    # the full loss: plus the swapped direction's pull on its un-detached positive (anchors e1)
    swapped = closed_form_components("paradigm", e1, e0, **loss.hparams)
    pull = swapped.factor * swapped.gd * swapped.ratio * swapped.weight.sum(1)
    expected = paradigm_gradient(forward, e0, e1) - tangent_project(pull[:, None] * e1, e0)
    torch.testing.assert_close(sphere_grad(loss.loss_on_sphere, e0, e1), expected, **TOL)
    # and anchor e1_i's gradient is the same with the views' roles exchanged
    back = swapped.factor * (forward.gd * forward.ratio * forward.weight.sum(1))
    expected_1 = paradigm_gradient(swapped, e1, e0) - tangent_project(back[:, None] * e0, e1)
    actual_1 = sphere_grad(lambda a, b: loss.loss_on_sphere(b, a), e1, e0)
    torch.testing.assert_close(actual_1, expected_1, **TOL)


def test_each_part_is_its_formula():
    e0, e1, _ = batch(3)
    sim = e0 @ e1.T
    assert (2 - 2 * sim.abs()).min() > 1e-3  # no clamp of sqrt / arccos acts: the raw formulas hold
    n = sim.shape[0]
    pos = sim.diagonal()
    hard, j = hardest_negative(sim)
    offdiag = 1 - torch.eye(n, dtype=sim.dtype)
    theta_pos, theta_hard = torch.arccos(pos), torch.arccos(hard)
    d_pos, d_hard = torch.sqrt(2 - 2 * pos), torch.sqrt(2 - 2 * hard)
    tau, m, u, p = 0.2, 0.1, 0.3, 3
    expected = {
        ("gd", "margin", m): (pos - hard < m).double(),
        ("gd", "soft", tau): 1 / (1 + torch.exp(pos / tau) / (torch.exp(sim / tau) * offdiag).sum(1)),
        ("gd", "none", None): torch.ones(n, dtype=sim.dtype),
        ("weight", "softmax", tau): torch.exp(sim / tau) * offdiag / (torch.exp(sim / tau) * offdiag).sum(1, True),
        ("weight", "power", p): sim.clamp_min(1e-4) ** p * offdiag / (sim.clamp_min(1e-4) ** p * offdiag).sum(1, True),
        ("weight", "uniform", None): offdiag / (n - 1),
        ("weight", "hardest", None): torch.nn.functional.one_hot(j, n).double(),
        ("ratio", "constant", 1.7): torch.full((n,), 1.7, dtype=sim.dtype),
        ("ratio", "arccon", u): torch.sin(theta_pos + u) / torch.sin(theta_pos),
        ("ratio", "met", None): d_hard / d_pos,
        ("ratio", "mat", None): torch.sin(theta_hard) / torch.sin(theta_pos),
    }
    names = {"margin": "m", "soft": "tau", "softmax": "tau", "power": "power", "constant": "r", "arccon": "u"}
    for (part, kind, value), want in expected.items():
        spec = {"kind": kind, **({names[kind]: value} if value is not None else {})}
        torch.testing.assert_close(part_values(part, spec, sim), want, **TOL, msg=f"{part} {kind}")
    assert {(q, k) for q, k, _ in expected} == {(part, kind) for part in PARTS for kind in PARTS[part]}


def test_parts_agree_with_the_losses_they_come_from():
    e0, e1, _ = batch(4)

    def comps(**parts):
        return closed_form_components("paradigm", e0, e1, **parts)

    infonce = closed_form_components("infonce", e0, e1, tau=0.1)
    ours = comps(gd={"kind": "soft", "tau": 0.1}, weight={"kind": "softmax", "tau": 0.1})
    torch.testing.assert_close(ours.gd, infonce.gd, **TOL)
    torch.testing.assert_close(ours.weight, infonce.weight, **TOL)
    arccon = closed_form_components("arccon", e0, e1, u=0.25)
    torch.testing.assert_close(comps(ratio={"kind": "arccon", "u": 0.25}).ratio, arccon.ratio, **TOL)
    mpt = closed_form_components("mpt", e0, e1, m=0.2)
    ours = comps(gd={"kind": "margin", "m": 0.2}, weight={"kind": "hardest"})
    torch.testing.assert_close(ours.gd, mpt.gd, **TOL)
    torch.testing.assert_close(ours.weight, mpt.weight, **TOL)
    for name in ("met", "mat"):  # same R; their W is one-hot at j* with a magnitude, ours normalised
        theirs = closed_form_components(name, e0, e1)
        ours = comps(weight={"kind": "hardest"}, ratio={"kind": name})
        torch.testing.assert_close(ours.ratio, theirs.ratio, **TOL)
        torch.testing.assert_close(ours.weight, (theirs.weight != 0).double(), **TOL)


SG_SETTINGS = [
    {"gd": gd, "weight": weight, "ratio": ratio, "r": 1.7}
    for gd, weight, ratio in itertools.product((False, True), repeat=3)
]
SG_SETTINGS += [{"power": 3, "r": 0.8}, {"power": 0}, {}]


@pytest.mark.parametrize("setting", SG_SETTINGS)
def test_sg_is_the_paradigm_with_its_parts(setting):
    z0, z1 = unit_views(5, 6, 8, noise=1.0)
    m = splitting_margin(cosine_gaps(z0 @ z1.T))
    sg = build_loss("sg", **setting, m=m)
    paradigm = build_loss("paradigm", **sg.parts())
    assert paradigm.hparams == sg.parts()
    z0 = z0.clone().requires_grad_(True)
    z1 = z1.clone().requires_grad_(True)
    value_sg, value_p = sg(z0, z1), paradigm(z0, z1)
    assert torch.equal(value_sg, value_p)
    grads_sg = torch.autograd.grad(value_sg, (z0, z1))
    grads_p = torch.autograd.grad(value_p, (z0, z1))
    assert all(torch.equal(a, b) for a, b in zip(grads_sg, grads_p))
    assert value_sg != 0


def test_defaults_are_sg_defaults_and_sg_parts_name_margin_softmax_constant():
    assert resolve_hparams("paradigm") == {
        "gd": {"kind": "margin", "m": 0.30},
        "ratio": {"kind": "constant", "r": 1.0},
        "weight": {"kind": "softmax", "tau": 0.05},
    }
    assert build_loss("sg").parts() == resolve_hparams("paradigm")
    assert build_loss("sg", gd=False, weight=False, ratio=False, r=3.0).parts() == {
        "gd": {"kind": "none"},
        "weight": {"kind": "uniform"},
        "ratio": {"kind": "constant", "r": 1.0},
    }
    z0, z1 = unit_views(6, 5, 7)
    assert torch.equal(build_loss("sg")(z0, z1), build_loss("paradigm")(z0, z1))


def test_resolved_parts_are_plain_sorted_and_deterministic():
    hp = resolve_hparams(
        "paradigm",
        weight={"power": np.int64(2), "kind": "power"},
        ratio={"kind": "arccon"},
        gd={"tau": np.float32(0.5), "kind": "soft"},
    )
    assert hp == {
        "gd": {"kind": "soft", "tau": 0.5},
        "ratio": {"kind": "arccon", "u": math.pi / 18},
        "weight": {"kind": "power", "power": 2},
    }
    assert type(hp["weight"]["power"]) is int and type(hp["gd"]["tau"]) is float
    assert list(hp) == sorted(hp) and all(list(spec) == sorted(spec) for spec in hp.values())
    again = resolve_hparams(
        "paradigm",
        gd={"kind": "soft", "tau": 0.5},
        weight={"kind": "power", "power": 2.0},
        ratio={"kind": "arccon", "u": math.pi / 18},
    )
    assert json.dumps(hp) == json.dumps(again) and json.loads(json.dumps(hp)) == hp
    assert resolve_hparams("paradigm", **hp) == hp  # idempotent: the trainer rebuilds from the record
    given = {"gd": {"kind": "margin", "m": 0.2}}
    resolve_hparams("paradigm", **given)["gd"]["m"] = 9.0
    assert given == {"gd": {"kind": "margin", "m": 0.2}}  # the caller's mapping is not shared


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        ({"gd": {"kind": "foo"}}, "gd.kind", "'foo' is not one of margin, soft, none"),
        ({"weight": {"kind": "Softmax"}}, "weight.kind", "'Softmax' is not one of softmax, power, uniform, hardest"),
        ({"ratio": {"kind": 1}}, "ratio.kind", "1 is not one of constant, arccon, met, mat"),
        ({"gd": {"m": 0.3}}, "gd.kind", "missing: give one of margin, soft, none"),
        ({"gd": "margin"}, "gd", "must be a mapping with a 'kind'"),
        ({"weight": None, "ratio": 1.0}, "ratio", "must be a mapping"),
        (
            {"gd": {"kind": "margin", "tau": 0.1}},
            "gd.tau",
            "gd kind 'margin' has no such parameter (its parameters: m)",
        ),
        (
            {"ratio": {"kind": "met", "m": 0.45}},
            "ratio.m",
            "ratio kind 'met' has no such parameter (it has no parameters)",
        ),
        ({"gd": {"kind": "soft", "tau": 0}}, "gd.tau", "(temperature) must be > 0"),
        ({"weight": {"kind": "softmax", "tau": "0.05"}}, "weight.tau", "must be a real number"),
        ({"weight": {"kind": "power"}}, "weight.power", "required for weight kind 'power'"),
        ({"weight": {"kind": "power", "power": 1.5}}, "weight.power", "non-negative integer"),
        ({"weight": {"kind": "power", "power": None}}, "weight.power", "non-negative integer, got None"),
        ({"ratio": {"kind": "constant", "r": math.nan}}, "ratio.r", "must be finite"),
        ({"ratio": {"kind": "arccon", "u": True}}, "ratio.u", "must be a real number"),
    ],
)
def test_bad_parts_are_refused_naming_their_key(args, key, message):
    for call in (resolve_hparams, build_loss):
        with pytest.raises(HparamError) as info:
            call("paradigm", **args)
        assert info.value.key == key
        assert f"'{key}'" in str(info.value) and message in str(info.value)


def test_a_flat_hyperparameter_is_refused_listing_the_parts():
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) tau; valid: gd, ratio, weight"):
        resolve_hparams("paradigm", tau=0.05)
