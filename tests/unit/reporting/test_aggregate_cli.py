"""`gradparadigm aggregate` end to end on synthetic files: every table and figure, and one clear
`error:` line for a bad result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reporting_testkit import write_sts, write_train_log, write_transfer

from gradparadigm.cli import main

SRC = Path(__file__).resolve().parents[3] / "src"


def test_aggregate_writes_every_table_and_figure(tmp_path, study):
    sts, transfer, logs = [], [], []
    for variant, seeds in (("untrained", [0]), ("infonce", [0, 1]), ("mhe-ori", [0, 1]), ("mhe-mod", [0, 1])):
        for seed in seeds:
            sts.append(write_sts(tmp_path, "m2", variant, seed, 60.0 + seed))
            transfer.append(write_transfer(tmp_path, "m2", variant, seed, 80.0 + seed))
            if variant != "untrained":
                logs.append(write_train_log(tmp_path, "m2", variant, seed))
    study_file = tmp_path / "study.json"
    study_file.write_text(json.dumps(study))
    out, figures = tmp_path / "tables", tmp_path / "figures"
    args = [
        "aggregate",
        "--study",
        f"@{study_file}",
        "--sts",
        *map(str, sts),
        "--transfer",
        *map(str, transfer),
        "--train-logs",
        *map(str, logs),
        "--out-dir",
        str(out),
        "--figures-dir",
        str(figures),
    ]
    assert main(args) == 0
    for name in ("sts", "ori_vs_mod", "ablation", "transfer", "provenance"):
        for ext in (".md", ".tex", ".csv", ".html"):
            assert (out / f"{name}{ext}").stat().st_size > 0, name + ext
    assert (out / "sts_long.csv").is_file() and (out / "transfer_long.csv").is_file()
    for name in ("figure1_ori_vs_mod", "ablation", "training_curves_m1", "training_curves_m2"):
        assert (figures / f"{name}.png").stat().st_size > 0 and (figures / f"{name}.pdf").stat().st_size > 0
    assert "+0.00" in (out / "ori_vs_mod.md").read_text()
    # the study inline (as the workflow passes it) works the same
    assert main([*args[:1], "--study", json.dumps(study), *args[3:]]) == 0


def test_a_bad_result_ends_with_one_error_line_naming_the_file(tmp_path):
    path = write_sts(tmp_path, "m1", "infonce", 0, 70.0, STS13={"spearman": float("nan")})
    result = subprocess.run(
        [sys.executable, "-m", "gradparadigm", "aggregate", "--sts", str(path), "--out-dir", str(tmp_path / "tables")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {path}: STS13.spearman: nan is not a finite number in [-100, 100]"]
    assert "Traceback" not in result.stderr
    bad_study = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradparadigm",
            "aggregate",
            "--study",
            '{"models": 1}',
            "--out-dir",
            str(tmp_path / "t"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
    )
    assert bad_study.returncode == 1 and "error: --study: needs an object 'models'" in bad_study.stderr
