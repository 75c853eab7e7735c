"""The GD / W / R simulations: hand-computed grid points, the official per-batch loops, and the
loss modules' own closed forms on embeddings built with the simulated angles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from gradparadigm.analysis.simulation import Draws, angle_grid, gd_grid, hardest_share, ratio_map, weight_curves
from gradparadigm.analysis.simulation_run import run_simulations, simulation_settings
from gradparadigm.losses import build_loss

PI = math.pi
NO_NOISE = {"pos_std": 0.0, "neg_std": 0.0}


def one_cell(loss: str, pos: float, neg: float, **hparams) -> float:
    draws = Draws.sample(0, batches=3, batch_size=128)
    return gd_grid(loss, np.array([pos]), np.array([neg]), draws, hparams=hparams, **NO_NOISE)[0, 0]


# --- hand-computed points (no noise: every negative at mu_neg, the positive at mu_pos) ------------


def test_infonce_gate_by_hand():
    # 1 / (1 + e^{cos(0.2π)/0.05} / (127 e^{cos(0.3π)/0.05}))
    expected = 1 / (1 + math.exp(0.8090169943749475 / 0.05) / (127 * math.exp(0.5877852522924731 / 0.05)))
    assert one_cell("infonce", 0.2 * PI, 0.3 * PI) == pytest.approx(expected, rel=1e-12)
    # e^{(0.8090 − 0.5878)/0.05} = e^{4.424} = 83.4; 83.4 / 127 = 0.657; 1 / 1.657 = 0.6034
    assert expected == pytest.approx(0.6034, abs=1e-4)


def test_arccon_gate_by_hand():
    u = PI / 18  # 10°: cos(0.2π + 10°) = cos(46°)
    expected = 1 / (1 + math.exp(math.cos(0.2 * PI + u) / 0.05) / (127 * math.exp(math.cos(0.3 * PI) / 0.05)))
    assert one_cell("arccon", 0.2 * PI, 0.3 * PI) == pytest.approx(expected, rel=1e-12)
    assert expected > one_cell("infonce", 0.2 * PI, 0.3 * PI)  # the angular margin keeps the gate open


@pytest.mark.parametrize(
    ("loss", "neg", "open_"),
    [
        ("mpt", 0.2, 1.0),  # cos(0.1π) − cos(0.2π) = 0.142 < 0.23
        ("mpt", 0.3, 0.0),  # cos(0.1π) − cos(0.3π) = 0.363
        ("met", 0.2, 1.0),  # √(2−2cos 0.2π) − √(2−2cos 0.1π) = 0.618 − 0.313 = 0.305 < 0.45
        ("met", 0.3, 0.0),  # 0.908 − 0.313 = 0.595
        ("mat", 0.2, 1.0),  # 0.1π < 0.15π
        ("mat", 0.3, 0.0),  # 0.2π
    ],
)
def test_hinge_gates_by_hand(loss, neg, open_):
    assert one_cell(loss, 0.1 * PI, neg * PI) == open_


def test_hinge_margin_is_the_losses_hyperparameter():
    assert one_cell("mpt", 0.1 * PI, 0.3 * PI, m=0.4) == 1.0  # 0.363 < 0.4


def test_weight_share_without_noise_is_uniform():
    draws = Draws.sample(1, batches=4, batch_size=128)
    share, kept = weight_curves(np.array([0.1 * PI]), [0.3, 0.05], draws, pos_mean=0.5, **NO_NOISE)
    np.testing.assert_allclose(share, 1 / 127, rtol=1e-12)
    np.testing.assert_allclose(kept, 1.0)


def test_hardest_share_by_hand():
    cos = np.array([0.9, 0.5, 0.5])
    expected = math.exp(0.9 / 0.1) / (math.exp(0.9 / 0.1) + 2 * math.exp(0.5 / 0.1))
    assert hardest_share(cos, 0.1) == pytest.approx(expected, rel=1e-12)


def test_weight_cells_without_gradient_are_nan_not_one():
    draws = Draws.sample(2, batches=5, batch_size=16)
    share, kept = weight_curves(np.array([0.9 * PI]), [0.005], draws, pos_mean=0.05 * PI)
    assert kept[0, 0] == 0.0 and math.isnan(share[0, 0])


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("arccon", math.sin(0.2 * PI + PI / 18) / math.sin(0.2 * PI)),
        ("met", math.sqrt(2 - 2 * math.cos(0.3 * PI)) / math.sqrt(2 - 2 * math.cos(0.2 * PI))),
        ("mat", math.sin(0.3 * PI) / math.sin(0.2 * PI)),
    ],
)
def test_ratio_by_hand(loss, expected):
    value, masked = ratio_map(loss, np.array([0.2 * PI]), np.array([0.3 * PI]))
    assert value[0, 0] == pytest.approx(expected, rel=1e-7)  # MET: the official +1e-8 under the root


def test_ratio_mask():
    pos, neg = np.array([0.3 * PI]), np.array([0.2 * PI, 0.35 * PI, 0.9 * PI])
    for loss in ("arccon", "met", "mat"):
        _, masked = ratio_map(loss, pos, neg)
        assert masked[0].tolist() == [True, False, True], loss  # behind; open; gate closed


# --- the official per-batch loops (simulation.py's cal_gd / cal_w), on the same draws --------------


def official_gd(loss, pos_theta, neg_thetas, hp):
    if loss == "infonce":
        return 1 / (1 + np.exp(np.cos(pos_theta) / hp["tau"]) / np.exp(np.cos(neg_thetas) / hp["tau"]).sum())
    if loss == "arccon":
        return 1 / (1 + np.exp(np.cos(pos_theta + hp["u"]) / hp["tau"]) / np.exp(np.cos(neg_thetas) / hp["tau"]).sum())
    if loss == "mpt":
        return float(np.cos(pos_theta) - np.cos(neg_thetas).max() < hp["m"])
    if loss == "met":
        pos_dis = np.sqrt(2 - 2 * np.cos(pos_theta) + 1e-8)
        neg_dis = np.sqrt(2 - 2 * np.cos(neg_thetas) + 1e-8)
        return float(neg_dis.min() - pos_dis < hp["m"])
    angle = lambda t: np.arccos(np.cos(t))  # noqa: E731 - MAT on geometric angles (module docstring)
    return float(angle(neg_thetas).min() - angle(pos_theta) < hp["m"] * PI)


HPARAMS = {
    "infonce": {"tau": 0.05},
    "arccon": {"tau": 0.05, "u": PI / 18},
    "mpt": {"m": 0.23},
    "met": {"m": 0.45},
    "mat": {"m": 0.15},
}


@pytest.mark.parametrize("loss", sorted(HPARAMS))
def test_gd_grid_equals_the_official_loop(loss):
    draws = Draws.sample(7, batches=40, batch_size=32)
    pos, neg = angle_grid(0.05, 0.5, 4), angle_grid(0.05, 1.0, 5)
    grid = gd_grid(loss, pos, neg, draws, pos_std=0.05, neg_std=0.10)
    for p, mu_p in enumerate(pos):
        for m, mu_n in enumerate(neg):
            loop = np.mean(
                [
                    official_gd(loss, mu_p + 0.05 * draws.pos[b], mu_n + 0.10 * draws.neg[b], HPARAMS[loss])
                    for b in range(len(draws.pos))
                ]
            )
            assert grid[p, m] == pytest.approx(loop, rel=1e-9, abs=1e-12), (loss, p, m)


def test_weight_curves_equal_the_official_loop():
    draws = Draws.sample(3, batches=30, batch_size=64)
    neg, taus = angle_grid(0.05, 0.6, 6), [0.1, 0.03]
    share, _ = weight_curves(neg, taus, draws, pos_mean=0.5, gd_threshold=0.01)
    for k, tau in enumerate(taus):
        for m, mu_n in enumerate(neg):
            kept = []
            for b in range(len(draws.pos)):
                negs = np.exp(np.cos(mu_n + 0.10 * draws.neg[b]) / tau)
                pos = np.exp(np.cos(0.5 + 0.05 * draws.pos[b]) / tau)
                if 1 / (1 + pos / negs.sum()) >= 0.01:
                    kept.append(negs.max() / negs.sum())
            expected = np.mean(kept) if kept else math.nan
            np.testing.assert_allclose(share[k, m], expected, rtol=1e-9)


# --- the same closed forms as the loss modules ----------------------------------------------------


def embeddings_with_angles(theta_pos: float, theta_negs: np.ndarray):
    """Views where anchor 0 sees its positive at theta_pos and candidate j at theta_negs[j-1]."""
    n = len(theta_negs) + 1
    d = n + 1
    e0 = torch.zeros(n, d, dtype=torch.float64)
    e0[:, 0] = 1.0  # every anchor on the first axis (only row 0 is checked)
    angles = torch.tensor([theta_pos, *theta_negs], dtype=torch.float64)
    e1 = torch.zeros(n, d, dtype=torch.float64)
    e1[:, 0] = torch.cos(angles)
    e1[torch.arange(n), torch.arange(n) + 1] = torch.sin(angles)
    return e0, e1


@pytest.mark.parametrize("loss", sorted(HPARAMS))
def test_simulated_gate_equals_the_loss_modules_gd(loss):
    rng = np.random.default_rng(5)
    for _ in range(5):
        theta_pos = rng.uniform(0.05, 0.5) * PI
        negs = rng.uniform(0.05, 1.0, size=15) * PI
        draws = Draws(np.zeros(1), ((negs - negs.mean()) / 1.0)[None])  # θ = mean + 1·z reproduces negs
        simulated = gd_grid(loss, np.array([theta_pos]), np.array([negs.mean()]), draws, pos_std=0.0, neg_std=1.0)
        gd, _, _, _ = build_loss(loss).components(*embeddings_with_angles(theta_pos, negs))
        assert simulated[0, 0] == pytest.approx(gd[0].item(), rel=1e-9, abs=1e-12), loss


@pytest.mark.parametrize("loss", ["arccon", "met", "mat"])
def test_simulated_ratio_equals_the_loss_modules_ratio(loss):
    theta_pos, theta_neg = 0.2 * PI, 0.32 * PI
    negs = np.array([theta_neg, 0.7 * PI, 0.8 * PI, 0.9 * PI])  # the hardest negative is theta_neg
    value, _ = ratio_map(loss, np.array([theta_pos]), np.array([theta_neg]))
    _, _, ratio, _ = build_loss(loss).components(*embeddings_with_angles(theta_pos, negs))
    assert value[0, 0] == pytest.approx(ratio[0].item(), rel=1e-6)


# --- the run: files, settings, determinism ----------------------------------------------------------


def tiny_settings():
    from gradparadigm.config import validate_config

    config = validate_config(
        {
            "models": {"m": {"source": "x"}},
            "variants": {"v": {"loss": "none"}},
            "simulations": {
                "batches": 8,
                "batch_size": 16,
                "gd": {"points": 4},
                "weight": {"points": 5},
                "ratio": {"points": 6},
            },
        }
    )
    return simulation_settings(config["simulations"])


def test_run_writes_tables_and_figures(tmp_path):
    settings = tiny_settings()
    assert settings["gd"]["losses"]["mpt"] == {"m": 0.23}  # defaults resolved for the rule's params
    record = run_simulations(settings, tmp_path / "out", tmp_path / "fig")
    gd = pd.read_csv(tmp_path / "out" / "gd.csv")
    assert len(gd) == 5 * 4 * 4 and set(gd["loss"]) == {"infonce", "arccon", "mpt", "met", "mat"}
    assert gd["gd"].between(0, 1).all()
    assert len(pd.read_csv(tmp_path / "out" / "weight.csv")) == 6 * 5
    assert len(pd.read_csv(tmp_path / "out" / "ratio.csv")) == 3 * 6 * 6
    assert set(record["seconds"]) == {"gd", "weight", "ratio"}
    for kind in ("gd", "weight", "ratio"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "fig" / f"simulation_{kind}.{ext}").stat().st_size > 1000
    run_simulations(settings, tmp_path / "again")
    assert (tmp_path / "again" / "gd.csv").read_bytes() == (tmp_path / "out" / "gd.csv").read_bytes()


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ({"gd": {"pos_range": [0.5, 0.1]}}, "simulations.gd.pos_range", "low end"),
        ({"gd": {"losses": {"vicreg": {}}}}, "simulations.gd.losses.vicreg", "valid keys here: infonce"),
        ({"gd": {"losses": {"mpt": {"tau": 0.1}}}}, "simulations.gd.losses.mpt", "tau"),
        ({"ratio": {"losses": {"met": {"m": "wide"}}}}, "simulations.ratio.losses.met", "m"),
        ({"weight": {"taus": [0.1, 0]}}, "simulations.weight.taus.1", "0"),
        ({"batch_size": 1}, "simulations.batch_size", "1"),
        ({"gd": {"pointz": 3}}, "simulations.gd.pointz", "unknown key"),
    ],
)
def test_bad_simulation_settings_name_their_key(section, key, words):
    from gradparadigm.config import validate_config
    from gradparadigm.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        validate_config({"models": {"m": {"source": "x"}}, "variants": {"v": {"loss": "none"}}, "simulations": section})
    assert f"config key '{key}'" in str(info.value) and words in str(info.value)
