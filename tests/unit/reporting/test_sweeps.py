"""A sweep's table and figure from synthetic results: one row per value, mean ± std over seeds,
the best STS-B dev, the final diagnostics (optional ones only when logged), the x-axis scale."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from reporting_testkit import run_dir, write_sts

from gradparadigm.cli import main
from gradparadigm.config import validate_config
from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.study import describe_study
from gradparadigm.reporting.sweep_figure import x_positions, y_scale
from gradparadigm.reporting.sweeps import describe_sweep, load_sweep, sweep_caption, sweep_table, write_sweep
from gradparadigm.training.settings import resolve_run_settings

VALUES = [0.1, 0.3, 1.0]


def _sweep(values=VALUES) -> dict:
    config = validate_config(
        {
            "models": {"m1": {"source": "packaged:all-MiniLM-L6-v2"}},
            "variants": {"untrained": {"loss": "none"}, "sg": {"loss": "sg", "template": True}},
            "seeds": [0, 1],
            "train": {"max_steps": 100, "batch_size": 64},
            "sweeps": {
                "gd-margin": {
                    "description": "GD margin",
                    "variant": "sg",
                    "param": "loss_args.m",
                    "values": list(values),
                }
            },
        }
    )
    runs = {
        (m, v): run
        for m in config["models"]
        for v in config["variants"]
        if (run := resolve_run_settings(config, m, v)) is not None
    }
    return json.loads(json.dumps(describe_sweep(config, describe_study(config, runs), "gd-margin")))


def _log(root, variant, seed, gap_end, dynamics=True):
    """A train_log.jsonl of 5 train records (the gap ends at ``gap_end``; W share null on the last
    record) and dev evaluations 70, 72 + seed, 71."""
    lines = []
    for step in range(1, 6):
        record = {
            "type": "train",
            "step": step * 10,
            "loss": 1.0,
            "gap": gap_end - (5 - step) * 0.1,
            "gd_active_frac": 0.5,
            "w_hardest_share": None if step == 5 else 0.1 * step,
            "r_effective": None,
        }
        if dynamics:
            record.update({"closer_frac": 0.6, "d_pos": 0.01, "d_hard": 0.002, "d_gap": 0.008})
        lines.append(record)
    lines += [
        {"type": "eval", "step": s, "stsb_dev_spearman": v} for s, v in ((20, 70.0), (40, 72.0 + seed), (50, 71.0))
    ]
    path = run_dir(root, "m1", variant, seed) / "train_log.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _results(root, sweep, dynamics=True):
    sts, logs = [], []
    for i, point in enumerate(sweep["points"]):
        for seed in (0, 1):
            sts.append(write_sts(root, "m1", point["variant"], seed, 60.0 + 2 * i + seed))
            logs.append(_log(root, point["variant"], seed, gap_end=0.5 + i, dynamics=dynamics))
    return sts, logs


def test_describe_sweep_lists_its_points_and_restricts_the_study():
    sweep = _sweep()
    assert [(p["value"], p["label"], p["variant"]) for p in sweep["points"]] == [
        (0.1, "0.1", "sg-m~0.1"),
        (0.3, "0.3", "sg-m~0.3"),
        (1.0, "1.0", "sg-m~1.0"),
    ]
    assert sweep["param"] == "loss_args.m" and sweep["variant"] == "sg"
    assert sorted(sweep["study"]["runs"]) == ["m1/sg-m~0.1", "m1/sg-m~0.3", "m1/sg-m~1.0"]  # no baseline
    assert sweep["study"]["seeds"] == [0, 1]


def test_sweep_table_one_row_per_value_with_seed_statistics(tmp_path):
    sweep = _sweep()
    sts, logs = _results(tmp_path, sweep)
    written = write_sweep(sweep, sts, logs, tmp_path / "out")
    assert {p.name for p in written} == {"table.md", "table.tex", "table.csv", "table.html", "figure.png", "figure.pdf"}
    assert all(p.stat().st_size > 0 for p in written)

    csv = pd.read_csv(tmp_path / "out" / "table.csv")
    assert list(csv["value"]) == VALUES and list(csv["variant"]) == ["sg-m~0.1", "sg-m~0.3", "sg-m~1.0"]
    second = csv.set_index("variant").loc["sg-m~0.3"]
    # sts task i scores base + i, seeds 0/1 add 0/1: avg = 62 + 3 + 0.5
    assert second["sts_avg"] == pytest.approx(65.5) and second["sts_avg std"] == pytest.approx(0.7071, abs=1e-4)
    assert second["stsb_dev"] == pytest.approx(72.5)  # the best evaluation of each seed: 72, 73
    # the mean of the last three logged values; the null W share of the last record is skipped
    assert second["gap"] == pytest.approx(1.5 - 0.1)
    assert second["w_hardest_share"] == pytest.approx((0.2 + 0.3 + 0.4) / 3)
    assert second["closer_frac"] == pytest.approx(0.6) and second["n_seeds"] == 2
    assert "r_effective" not in csv.columns  # never logged: no column

    markdown = (tmp_path / "out" / "table.md").read_text()
    header = markdown.splitlines()[0]
    assert [h.strip() for h in header.strip("|").split("|")][:5] == ["Model", "m", "Seeds", "STS avg", "STS-B dev"]
    assert "closer" in header and "R eff." not in header
    row = [line for line in markdown.splitlines() if "| 0.3 " in line][0]
    assert "65.50 ± 0.71" in row and "1.400 ± 0.000" in row
    # the changes after a step are shown in thousandths (the CSV keeps the raw values)
    assert "Δpos ×10³" in header and "10.000 ± 0.000" in row and "8.000 ± 0.000" in row
    assert second["d_pos"] == pytest.approx(0.01)
    assert "Sweep gd-margin (GD margin)" in markdown and "sg-m~0.1 … sg-m~1.0" in markdown
    assert r"sg-m\textasciitilde{}0.1" in (tmp_path / "out" / "table.tex").read_text()


def test_dynamics_columns_are_optional(tmp_path):
    sweep = _sweep()
    sts, logs = _results(tmp_path, sweep, dynamics=False)
    table = sweep_table(sweep, load_sweep(sweep, sts, logs))
    assert table.headers == ["Model", "m", "Seeds", "STS avg", "STS-B dev", "gap", "GD active", "W hardest"]
    assert len(table.rows) == 3


def test_a_result_of_another_variant_is_an_error_naming_the_file(tmp_path):
    sweep = _sweep()
    stray = write_sts(tmp_path, "m1", "infonce", 0, 60.0)
    with pytest.raises(DataFormatError, match=r"infonce/seed~0/sts.json: variant 'infonce' is not a point"):
        load_sweep(sweep, [stray], [])


def test_missing_results_leave_rows_out_and_show_the_seed_count(tmp_path):
    sweep = _sweep()
    sts = [write_sts(tmp_path, "m1", "sg-m~0.1", 0, 60.0)]
    table = sweep_table(sweep, load_sweep(sweep, sts, []))
    assert [row[:4] for row in table.rows] == [["m1", "0.1", "1/2", "63.00"]]


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ([0.003, 0.01, 0.05, 0.1], "log"),
        ([0.1, 0.3, 1.0], "linear"),
        ([0.5, 1.0, 2.0], "linear"),
        ([-1.0, 1.0, 100.0], "linear"),
        (["cls", "mean"], "category"),
        ([True, False], "category"),
    ],
)
def test_x_axis_scale(values, scale):
    xs, found = x_positions(values)
    assert found == scale
    assert xs == ([0.0, 1.0] if scale == "category" else [float(v) for v in values])


def test_a_panel_spanning_decades_gets_a_log_y_axis():
    assert y_scale([2.0, 2.0, 6.7e7]) == "log"  # R where nearly every gate is closed
    assert y_scale([0.2, 0.4, 0.5]) == "linear" and y_scale([-0.1, 50.0]) == "linear" and y_scale([]) == "linear"


def test_sweep_command_writes_table_and_figure(tmp_path):
    sweep = _sweep()
    sts, logs = _results(tmp_path, sweep)
    (tmp_path / "sweep.json").write_text(json.dumps(sweep))
    code = main(
        [
            "sweep",
            "--sweep",
            f"@{tmp_path / 'sweep.json'}",
            "--sts",
            *map(str, sts),
            "--train-logs",
            *map(str, logs),
            "--out-dir",
            str(tmp_path / "out"),
            "--window",
            "1",
        ]
    )
    assert code == 0
    csv = pd.read_csv(tmp_path / "out" / "table.csv").set_index("variant")
    assert csv.loc["sg-m~1.0", "gap"] == pytest.approx(2.5)  # window 1: the last logged value
    assert (tmp_path / "out" / "figure.png").stat().st_size > 0


def test_r_effective_is_the_median_of_the_last_logged_values(tmp_path):
    """A step with almost every gate closed logs an unbounded ratio (measured on anchors that only
    receive other anchors' terms); the row's R is the median of the window, so it does not decide it."""
    sweep = _sweep()
    point = sweep["points"][0]["variant"]
    sts = [write_sts(tmp_path, "m1", point, 0, 60.0)]
    lines = [
        {
            "type": "train",
            "step": step,
            "loss": 1.0,
            "gap": 0.1,
            "gd_active_frac": 0.5,
            "w_hardest_share": 0.4,
            "r_effective": r,
        }
        for step, r in ((10, 9.0), (20, 2.0), (30, 5.1e7), (40, 2.2))
    ]
    path = run_dir(tmp_path, "m1", point, 0) / "train_log.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    values = load_sweep(sweep, sts, [path]).set_index("quantity")["value"]
    assert values["r_effective"] == pytest.approx(2.2)  # median of 2.0, 5.1e7, 2.2 (the 9.0 is outside)
    assert values["gap"] == pytest.approx(0.1)  # the others stay means
    row = sweep_table(sweep, load_sweep(sweep, sts, [path])).rows[0]
    assert "2.200" in row and "(R eff.: their median)" in sweep_caption(sweep, 3)
