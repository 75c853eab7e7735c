"""The statistics rule in a dry run of the real Snakefile on a tiny config: one job per run, each
with its run's encoder, training batch size and max length; not part of `all`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]

CONFIG = {
    "models": {"m": {"source": "packaged:all-MiniLM-L6-v2", "train": {"batch_size": 32}}},
    "variants": {
        "untrained": {"loss": "none"},
        "infonce": {"loss": "infonce", "train": {"batch_size": 16, "max_length": 24}},
    },
    "seeds": [0, 1],
    "statistics": {"n_sentences": 64, "taus": [0.05, 0.01], "margins": [0.3, 2]},
    "eval": {"transfer_tasks": []},
}


def _dry_run(tmp_path: Path, target: str) -> str:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-p",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            target,
            "--configfile",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_one_statistics_job_per_run_with_its_settings(tmp_path):
    out = _dry_run(tmp_path, "statistics")
    commands = [line for line in out.splitlines() if "gradparadigm statistics" in line]
    assert len(commands) == 3  # the untrained baseline once, the trained variant at both seeds
    by_out = {re.search(r"--out (\S+)", c).group(1).strip("'"): c for c in commands}
    assert set(by_out) == {
        "results/m/untrained/seed~0/statistics.json",
        "results/m/infonce/seed~0/statistics.json",
        "results/m/infonce/seed~1/statistics.json",
    }
    trained = by_out["results/m/infonce/seed~1/statistics.json"]
    assert "--model 'results/m/infonce/seed~1/model'" in trained  # shell-quoted (the ~)
    assert "--batch-size 16 --max-length 24" in trained  # the run's own training settings
    assert "--n-sentences 64 --seed 0" in trained and "--taus 0.05 0.01 --margins 0.3 2" in trained
    assert "--corpus results/data/corpus.txt" in trained
    assert "2> 'results/logs/statistics/m/infonce/seed~1.log'" in trained
    baseline = by_out["results/m/untrained/seed~0/statistics.json"]
    assert "--model packaged:all-MiniLM-L6-v2" in baseline and "--batch-size 32 --max-length 32" in baseline
    assert "--pooler cls" in baseline and "variant=untrained seed=0" in baseline


def test_statistics_are_not_part_of_all(tmp_path):
    assert "gradparadigm statistics" not in _dry_run(tmp_path, "all")
