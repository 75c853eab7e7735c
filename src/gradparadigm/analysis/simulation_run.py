"""Run the three simulations from the config's ``simulations`` section; write tables and figures.

Outputs (``out_dir``): ``gd.csv`` (loss, pos_mean_pi, neg_mean_pi, gd), ``weight.csv`` (tau,
neg_mean_pi, hardest_share, batches_kept), ``ratio.csv`` (loss, pos_angle_pi, neg_angle_pi, ratio,
masked) and ``settings.json`` (the settings, the resolved loss hyperparameters and the seconds each
part took); figures (``figures_dir``): ``simulation_gd``, ``simulation_weight``, ``simulation_ratio``
(PNG and PDF). Every file is written atomically.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from gradparadigm.analysis.simulation import Draws, angle_grid, gd_grid, ratio_map, weight_curves
from gradparadigm.fileio import atomic_path, write_json_atomic
from gradparadigm.losses import resolve_hparams

log = logging.getLogger(__name__)


def _pi(theta: np.ndarray) -> np.ndarray:
    return np.round(theta / np.pi, 6)


def _loss_hparams(section: Mapping[str, Any]) -> dict[str, dict]:
    return {loss: resolve_hparams(loss, **(args or {})) for loss, args in section["losses"].items()}


SIMULATION_CODE = ("analysis",)


def simulation_settings(section: Mapping[str, Any]) -> dict:
    """The config's ``simulations`` section with every loss's hyperparameters resolved (defaults
    filled in): the rule's params, so a changed loss default re-runs the simulations too."""
    settings = copy.deepcopy(dict(section))
    for name in ("gd", "ratio"):
        settings[name]["losses"] = _loss_hparams(settings[name])
    return settings


def simulate_gd(settings: Mapping[str, Any]) -> tuple[pd.DataFrame, dict]:
    gd = settings["gd"]
    draws = Draws.sample(settings["seed"], settings["batches"], settings["batch_size"])
    pos, neg = angle_grid(*gd["pos_range"], gd["points"]), angle_grid(*gd["neg_range"], gd["points"])
    hparams = _loss_hparams(gd)
    frames = []
    for loss, hp in hparams.items():
        values = gd_grid(loss, pos, neg, draws, pos_std=gd["pos_std"], neg_std=gd["neg_std"], hparams=hp)
        ii, ij = np.meshgrid(pos, neg, indexing="ij")
        frames.append(
            pd.DataFrame(
                {"loss": loss, "pos_mean_pi": _pi(ii.ravel()), "neg_mean_pi": _pi(ij.ravel()), "gd": values.ravel()}
            )
        )
    return pd.concat(frames, ignore_index=True), hparams


def simulate_weight(settings: Mapping[str, Any]) -> pd.DataFrame:
    w = settings["weight"]
    draws = Draws.sample(settings["seed"], settings["batches"], settings["batch_size"])
    neg = angle_grid(*w["neg_range"], w["points"])
    share, kept = weight_curves(
        neg,
        w["taus"],
        draws,
        pos_mean=w["pos_mean_pi"] * np.pi,
        pos_std=w["pos_std"],
        neg_std=w["neg_std"],
        gd_threshold=w["gd_threshold"],
    )
    return pd.concat(
        [
            pd.DataFrame({"tau": tau, "neg_mean_pi": _pi(neg), "hardest_share": share[k], "batches_kept": kept[k]})
            for k, tau in enumerate(w["taus"])
        ],
        ignore_index=True,
    )


def simulate_ratio(settings: Mapping[str, Any]) -> tuple[pd.DataFrame, dict]:
    r = settings["ratio"]
    pos, neg = angle_grid(*r["pos_range"], r["points"]), angle_grid(*r["neg_range"], r["points"])
    hparams = _loss_hparams(r)
    frames = []
    for loss, hp in hparams.items():
        value, masked = ratio_map(
            loss, pos, neg, batch_size=settings["batch_size"], gd_threshold=r["gd_threshold"], hparams=hp
        )
        ii, ij = np.meshgrid(pos, neg, indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "loss": loss,
                    "pos_angle_pi": _pi(ii.ravel()),
                    "neg_angle_pi": _pi(ij.ravel()),
                    "ratio": value.ravel(),
                    "masked": masked.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True), hparams


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def run_simulations(settings: Mapping[str, Any], out_dir: Path, figures_dir: Path | None = None) -> dict:
    """All three simulations; returns the record written to ``settings.json``."""
    from gradparadigm.analysis.simulation_figures import gd_figure, ratio_figure, weight_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    gd, gd_hparams = simulate_gd(settings)
    seconds["gd"] = time.perf_counter() - start
    log.info(
        "GD grid: %d losses x %d x %d cells, %d batches of %d: %.1f s",
        len(gd_hparams),
        settings["gd"]["points"],
        settings["gd"]["points"],
        settings["batches"],
        settings["batch_size"],
        seconds["gd"],
    )
    start = time.perf_counter()
    weight = simulate_weight(settings)
    seconds["weight"] = time.perf_counter() - start
    log.info(
        "W curves: %d temperatures x %d means: %.1f s",
        len(settings["weight"]["taus"]),
        settings["weight"]["points"],
        seconds["weight"],
    )
    start = time.perf_counter()
    ratio, ratio_hparams = simulate_ratio(settings)
    seconds["ratio"] = time.perf_counter() - start
    log.info("R maps: %d losses: %.1f s", len(ratio_hparams), seconds["ratio"])
    _write_csv(gd, out_dir / "gd.csv")
    _write_csv(weight, out_dir / "weight.csv")
    _write_csv(ratio, out_dir / "ratio.csv")
    if figures_dir is not None:
        figures_dir = Path(figures_dir)
        figures_dir.mkdir(parents=True, exist_ok=True)
        gd_figure(gd, figures_dir / "simulation_gd")
        weight_figure(weight, figures_dir / "simulation_weight")
        ratio_figure(ratio, figures_dir / "simulation_ratio")
    record = {
        "settings": dict(settings),
        "hparams": {"gd": gd_hparams, "ratio": ratio_hparams},
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    write_json_atomic(out_dir / "settings.json", record)
    return record
