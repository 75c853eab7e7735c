"""End to end: the real Snakefile on a tiny config (a 2-layer random BERT, the offline data mirror)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(workdir: Path, env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args],
        capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture()
def tiny_study(tmp_path, tiny_bert_dir) -> Path:
    config = {
        "models": {"tiny": {"source": str(tiny_bert_dir)}},
        "variants": {"untrained-cls": {"loss": "none", "pooler": "cls"},
                     "untrained-mean": {"loss": "none", "pooler": "mean"}},
        "eval": {"batch_size": 256, "max_length": 64,
                 # two of the seven transfer tasks, SentEval's prototyping mode: seconds, not minutes
                 "transfer_tasks": ["TREC", "MRPC"], "transfer_mode": "fast"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_tiny_study_builds_the_sts_table_and_is_cached(tiny_study, downstream):
    env = {"GRADPARADIGM_SENTEVAL_DIR": str(downstream)}
    result = _run(tiny_study, env)
    assert result.returncode == 0, result.stderr[-3000:]

    results = tiny_study / "results"
    table = pd.read_csv(results / "tables" / "sts.csv")
    assert sorted(table.variant) == ["untrained-cls", "untrained-mean"]
    for column in ["STS12", "STS13", "STS14", "STS15", "STS16", "STS-B", "SICK-R", "Avg."]:
        assert table[column].map(lambda v: math.isfinite(v) and -100 <= v <= 100).all()
    sts = json.loads((results / "tiny" / "untrained-mean" / "seed~0" / "sts.json").read_text())
    assert sts["meta"]["pooler"] == "mean" and sts["meta"]["model"] == "tiny"
    assert sts["STS12"]["spearman"] == sts["STS12"]["spearman_all"] != sts["STS12"]["spearman_wmean"]
    assert (results / "tables" / "sts.md").read_text().count("| tiny ") == 2
    transfer = pd.read_csv(results / "tables" / "transfer.csv")
    assert sorted(transfer.variant) == ["untrained-cls", "untrained-mean"]
    assert transfer[["TREC", "MRPC", "Avg."]].map(lambda v: 0 < v <= 100).all().all()
    run = json.loads((results / "tiny" / "untrained-cls" / "seed~0" / "transfer.json").read_text())
    assert run["mode"] == "fast" and run["engine"] == "torch" and "f1" in run["tasks"]["MRPC"]
    assert "fast' mode" in (results / "tables" / "transfer.md").read_text()
    assert json.loads((results / "data" / "senteval.sha256.json").read_text())["source"] == "local"
    assert (results / "logs" / "eval_sts" / "tiny" / "untrained-cls" / "seed~0.log").stat().st_size > 0
    assert (results / "benchmarks" / "eval_sts" / "tiny" / "untrained-cls" / "seed~0.tsv").is_file()

    again = _run(tiny_study, env)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_corrupt_data_stops_the_run_and_names_the_file(tiny_study, downstream, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(downstream, mirror)
    (mirror / "SICK" / "SICK_trial.txt").write_text("truncated\n")
    result = _run(tiny_study, {"GRADPARADIGM_SENTEVAL_DIR": str(mirror)})
    assert result.returncode != 0
    log = (tiny_study / "results" / "logs" / "fetch_senteval.log").read_text()
    assert "SICK/SICK_trial.txt: sha256 mismatch" in log
    assert not (tiny_study / "results" / "data" / "senteval").exists()
