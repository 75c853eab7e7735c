"""Public API: names, hyperparameter validation, defaults (ori / mod), determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gradparadigm.losses import (
    CLOSED_FORM_LOSSES,
    LOSS_NAMES,
    build_loss,
    closed_form_components,
    resolve_hparams,
)

EXPECTED_KEYS = {
    "infonce": {"tau"},
    "arccon": {"tau", "u"},
    "mpt": {"m"},
    "met": {"m"},
    "mat": {"m"},
    "mhe": {"lam", "m", "tau", "r", "gd", "weight", "ratio"},
    "mhs": {"lam", "m", "r", "gd", "weight", "ratio"},
    "barlow_twins": {"lam", "m", "tau", "r", "gd", "weight", "ratio"},
    "vicreg": {"lam", "m", "tau", "r", "gd", "weight", "ratio"},
    "sg": {"m", "tau", "r", "power", "gd", "weight", "ratio"},
    "paradigm": {"gd", "weight", "ratio"},
}


def test_loss_names_are_the_papers_ten_and_the_composed_paradigm():
    assert LOSS_NAMES == tuple(EXPECTED_KEYS)
    assert CLOSED_FORM_LOSSES == ("infonce", "arccon", "mpt", "met", "mat", "sg", "paradigm")


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_each_loss_accepts_exactly_its_keys(name):
    assert set(resolve_hparams(name)) == EXPECTED_KEYS[name]


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_build_loss_returns_module_giving_a_scalar(name):
    loss = build_loss(name)
    assert isinstance(loss, torch.nn.Module)
    value = loss(torch.randn(5, 7), torch.randn(5, 7))
    assert value.shape == () and torch.isfinite(value)
    assert loss.hparams == resolve_hparams(name)


def test_unknown_loss_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'simcse'") as info:
        build_loss("simcse")
    assert all(name in str(info.value) for name in LOSS_NAMES)
    with pytest.raises(ValueError, match="unknown loss"):
        resolve_hparams("InfoNCE")


def test_unknown_hparam_lists_valid_keys():
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) m; valid: tau"):
        build_loss("infonce", m=0.3)
    # a switch is not a hyperparameter of a contrastive loss
    with pytest.raises(ValueError, match="valid: m$"):
        resolve_hparams("mpt", gd=True)
    # MHS has no temperature
    with pytest.raises(ValueError, match="tau"):
        resolve_hparams("mhs", tau=0.05)


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("infonce", "tau", "0.05"),  # a string
        ("infonce", "tau", True),  # a bool is not a number here
        ("infonce", "tau", 0.0),  # temperature must be > 0
        ("infonce", "tau", -0.1),
        ("infonce", "tau", math.nan),
        ("arccon", "u", math.inf),
        ("mpt", "m", None),
        ("mhe", "lam", -1.0),
        ("mhe", "gd", 1),  # a switch must be a bool
        ("mhe", "weight", "true"),
        ("vicreg", "ratio", None),
        ("sg", "power", 1.5),
        ("sg", "power", -1),
        ("sg", "power", "2"),
        ("sg", "power", True),
    ],
)
def test_wrong_types_and_values_raise(name, key, value):
    with pytest.raises(ValueError, match=repr(key)):
        resolve_hparams(name, **{key: value})
    with pytest.raises(ValueError, match=repr(key)):
        build_loss(name, **{key: value})


def test_contrastive_defaults_are_the_papers():
    assert resolve_hparams("infonce") == {"tau": 0.05}
    assert resolve_hparams("arccon") == {"tau": 0.05, "u": math.pi / 18}
    assert resolve_hparams("mpt") == {"m": 0.23}
    assert resolve_hparams("met") == {"m": 0.45}
    assert resolve_hparams("mat") == {"m": 0.15}


@pytest.mark.parametrize(
    ("name", "ori_lam", "r"),
    [("mhe", 10.0, 1.75), ("mhs", 1.0, 1.75), ("barlow_twins", 30.0, 1.5), ("vicreg", 30.0, 1.5)],
)
def test_noncontrastive_defaults_switch_between_ori_and_mod(name, ori_lam, r):
    ori = resolve_hparams(name)
    assert ori["lam"] == ori_lam
    assert (ori["gd"], ori["weight"], ori["ratio"]) == (False, False, False)
    for switch in ("gd", "weight", "ratio"):
        mod = resolve_hparams(name, **{switch: True})  # any one switch selects the mod column
        assert mod["lam"] == 1.0 and mod["m"] == 0.30 and mod["r"] == r and mod[switch] is True
    # explicit overrides always win
    assert resolve_hparams(name, gd=True, lam=7)["lam"] == 7.0
    assert resolve_hparams(name, lam=3.0)["lam"] == 3.0
    if name != "mhs":
        assert resolve_hparams(name, weight=True)["tau"] == 0.05


def test_sg_defaults_all_switches_on():
    assert resolve_hparams("sg") == {
        "gd": True,
        "m": 0.30,
        "power": None,
        "r": 1.0,
        "ratio": True,
        "tau": 0.05,
        "weight": True,
    }


def test_resolved_dict_is_plain_sorted_and_deterministic():
    hp = resolve_hparams("mhe", tau=np.float32(0.5), r=2, gd=np.bool_(True))
    assert list(hp) == sorted(hp)
    assert type(hp["tau"]) is float and type(hp["r"]) is float and hp["r"] == 2.0
    assert type(hp["gd"]) is bool
    assert resolve_hparams("sg", power=np.int64(4))["power"] == 4
    assert type(resolve_hparams("sg", power=4.0)["power"]) is int
    text = json.dumps(hp)
    assert text == json.dumps(resolve_hparams("mhe", gd=True, r=2.0, tau=0.5))
    assert json.loads(text) == hp


def test_resolve_does_not_share_state_between_calls():
    first = resolve_hparams("mhe")
    first["lam"] = 99.0
    assert resolve_hparams("mhe")["lam"] == 10.0


def test_closed_form_refused_for_losses_without_one():
    z = torch.randn(4, 5)
    with pytest.raises(ValueError, match="no closed-form"):
        closed_form_components("barlow_twins", z, z)


@pytest.mark.parametrize(
    ("z0", "z1", "match"),
    [
        (torch.randn(1, 4), torch.randn(1, 4), "N >= 2"),
        (torch.randn(3, 4), torch.randn(3, 5), "same shape"),
        (torch.randn(3), torch.randn(3), r"\[N, D\]"),
    ],
)
def test_bad_shapes_raise(z0, z1, match):
    with pytest.raises(ValueError, match=match):
        build_loss("infonce")(z0, z1)
