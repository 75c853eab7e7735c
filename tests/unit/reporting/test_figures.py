"""Figures (PNG and PDF) from synthetic results and training logs; the training-log reader."""

from __future__ import annotations

import json
import math

import pytest
from reporting_testkit import write_sts, write_train_log

from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.aggregate import aggregate
from gradparadigm.reporting.train_logs import load_train_logs, mean_curves

FIGURES = ["figure1_ori_vs_mod", "ablation", "training_curves_m1", "training_curves_m2"]


def _assert_figures(folder, names=FIGURES):
    for name in names:
        png, pdf = folder / f"{name}.png", folder / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000, name
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000, name
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_figures_from_results_and_training_logs(tmp_path, study):
    sts, logs = [], []
    for i, variant in enumerate(["untrained", "infonce", "mhe-ori", "mhe-mod", "mhe-no-gd", "bt-ori"]):
        for seed in [0] if variant == "untrained" else [0, 1]:
            sts.append(write_sts(tmp_path, "m1", variant, seed, 60.0 + 2 * i + seed))
            if variant != "untrained":
                logs.append(
                    write_train_log(
                        tmp_path, "m1", variant, seed, shift=0.01 * (i + seed), dynamics=variant != "bt-ori"
                    )
                )  # bt-ori: an older log
    written = aggregate(study, sts, [], logs, tmp_path / "tables", tmp_path / "figures")
    _assert_figures(tmp_path / "figures")  # m2 has no results: its figure holds a note
    assert tmp_path / "figures" / "training_curves_m2.pdf" in written


def test_figures_of_a_study_without_ori_mod_or_logs(tmp_path, study):
    aggregate(study, [write_sts(tmp_path, "m1", "untrained", 0, 60.0)], [], [], tmp_path / "t", tmp_path / "f")
    _assert_figures(tmp_path / "f")


def test_training_logs_nulls_and_means_over_seeds(tmp_path):
    logs = load_train_logs(
        [write_train_log(tmp_path, "m1", "infonce", 0), write_train_log(tmp_path, "m1", "infonce", 1, shift=0.1)]
    )
    curves = mean_curves(logs).set_index(["quantity", "step"])
    assert curves.loc[("gap", 1), "mean"] == pytest.approx(0.45) and curves.loc[("gap", 1), "n"] == 2
    assert curves.loc[("stsb_dev_spearman", 6), "mean"] == pytest.approx(76.05)
    assert math.isnan(curves.loc[("w_hardest_share", 2), "mean"])  # null at every seed
    assert curves.loc[("r_effective", 1), "n"] == 0


def test_post_step_dynamics_are_read_where_a_log_has_them(tmp_path):
    logs = load_train_logs(
        [
            write_train_log(tmp_path, "m1", "infonce", 0, dynamics=True),
            write_train_log(tmp_path, "m1", "infonce", 1, shift=0.1),
        ]
    )  # older: none
    curves = mean_curves(logs).set_index(["quantity", "step"])
    assert curves.loc[("d_gap", 2), "mean"] == pytest.approx(0.03) and curves.loc[("d_gap", 2), "n"] == 1
    assert curves.loc[("closer_frac", 6), "mean"] == pytest.approx(0.75)
    assert curves.loc[("pos_cos", 1), "n"] == 2


def test_a_malformed_training_log_names_file_and_line(tmp_path):
    path = write_train_log(tmp_path, "m1", "infonce", 0)
    lines = path.read_text().splitlines()
    lines[2] = json.dumps({"type": "train", "step": 3, "gap": "wide"})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"train_log\.jsonl:3: gap: expected a number or null"):
        load_train_logs([path])
    path.write_text('{"type": "train", "step": 1}\n{truncated\n')
    with pytest.raises(DataFormatError, match=r"train_log\.jsonl:2: not a JSON line"):
        load_train_logs([path])
    other = write_train_log(tmp_path / "copy", "m1", "infonce", 0)
    with pytest.raises(DataFormatError, match="a second result for the same run"):
        load_train_logs([write_train_log(tmp_path, "m1", "infonce", 0), other])
