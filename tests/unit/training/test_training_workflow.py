"""The workflow end to end on a tiny config: augment -> train -> eval_sts -> tables, next to an untrained
baseline; then a changed training setting makes Snakemake retrain (params trigger).

Needs the SentEval data: ``GRADPARADIGM_SENTEVAL_DIR`` or the project's offline mirror
(``shared/data/downstream`` beside the repository); skipped without it. About a minute on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
MIRROR = REPO.parent / "shared" / "data" / "downstream"


def senteval_dir() -> Path | None:
    path = Path(os.environ.get("GRADPARADIGM_SENTEVAL_DIR") or MIRROR)
    return path if (path / "STS" / "STSBenchmark" / "sts-dev.csv").is_file() else None


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--configfile", str(workdir / "config.yaml"), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def write_config(workdir: Path, model: Path, corpus: Path, senteval: Path, lr: float) -> None:
    config = {
        "models": {"tiny": {"source": str(model)}},
        "variants": {
            "untrained-cls": {"loss": "none", "pooler": "cls"},
            "infonce": {"loss": "infonce", "train": {"batch_size": 8, "max_steps": 3, "eval_steps": 2,
                                                    "log_steps": 1, "checkpoint_steps": 2, "lr": lr}},
        },
        "seeds": [0],
        "data": {"senteval": {"local_dir": str(senteval)}, "corpus": {"local_file": str(corpus)},
                 "verify_checksums": False},
        "eval": {"sts_tasks": ["STSBenchmark"], "batch_size": 64},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.slow
def test_workflow_trains_evaluates_and_retrains_on_changed_params(tmp_path, tiny_model_dir, corpus_file):
    senteval = senteval_dir()
    if senteval is None:
        pytest.skip("no SentEval data (set GRADPARADIGM_SENTEVAL_DIR)")
    write_config(tmp_path, tiny_model_dir, corpus_file, senteval, lr=3e-5)
    run = snakemake(tmp_path, "--cores", "2")
    assert run.returncode == 0, run.stderr[-3000:]

    results = tmp_path / "results"
    table = pd.read_csv(results / "tables" / "sts.csv")
    assert set(table["variant"]) == {"untrained-cls", "infonce"}
    run_dir = results / "tiny" / "infonce" / "seed~0"
    hparams = json.loads((run_dir / "hparams.json").read_text())
    assert hparams["variant"] == "infonce" and hparams["result"]["steps"] == 3
    assert hparams["train"]["lr"] == 3e-5 and hparams["loss_args"] == {"tau": 0.05}
    log = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["type"] == "eval"] == [2, 3]
    assert not (results / "checkpoints" / "tiny" / "infonce" / "seed~0").exists()
    sts = json.loads((run_dir / "sts.json").read_text())
    assert sts["meta"]["model_source"] == "results/tiny/infonce/seed~0/model" and sts["meta"]["pooler"] == "cls"

    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(run_dir / "model"), device="cpu").encode(["a test ."]).shape == (1, 32)

    assert "Nothing to be done" in snakemake(tmp_path, "-n").stdout
    write_config(tmp_path, tiny_model_dir, corpus_file, senteval, lr=1e-4)
    plan = snakemake(tmp_path, "-n")
    assert "rule train:" in plan.stdout and "Params have changed" in plan.stdout
    assert "rule augment:" not in plan.stdout  # the views do not depend on the learning rate
