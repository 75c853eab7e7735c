"""End to end: the real Snakefile on a tiny study (a 2-layer random BERT, the offline data mirror):
fetch -> prepare -> augment -> train -> eval_sts + eval_transfer -> tables and figures, next to an
untrained baseline, and the HTML report; then the caching and rerun behaviour a user relies on."""

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


def _snakemake(workdir: Path, env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **env_extra}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(workdir / "config.yaml"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


def _write_config(workdir: Path, model: Path, lr: float, simulations: dict, log_steps: int = 1) -> None:
    config = {
        "models": {"tiny": {"source": str(model)}},
        "variants": {
            "untrained-cls": {"loss": "none", "pooler": "cls"},
            "infonce": {
                "loss": "infonce",
                "train": {
                    "batch_size": 8,
                    "max_steps": 3,
                    "eval_steps": 2,
                    "log_steps": log_steps,
                    "checkpoint_steps": 2,
                    "lr": lr,
                },
            },
        },
        "seeds": [0],
        "eval": {
            "batch_size": 256,
            "max_length": 32,
            # two of the seven transfer tasks, SentEval's prototyping mode: seconds, not minutes
            "transfer_tasks": ["TREC", "MRPC"],
            "transfer_mode": "fast",
        },
        "simulations": simulations,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture()
def data_env(shared_data, tmp_path) -> dict[str, str]:
    corpus = tmp_path / "corpus.txt"  # the first 200 sentences of the mirrored wiki1m slice
    lines = (shared_data / "wiki" / "wiki1m_for_simcse.head11914.txt").read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    return {"GRADPARADIGM_SENTEVAL_DIR": str(shared_data / "downstream"), "GRADPARADIGM_CORPUS_FILE": str(corpus)}


def test_tiny_study_end_to_end(tmp_path, tiny_bert_dir, data_env, tiny_simulations):
    study = tmp_path / "study"
    study.mkdir()
    _write_config(study, tiny_bert_dir, lr=3e-5, simulations=tiny_simulations)
    result = _snakemake(study, data_env, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = study / "results"

    # the STS table: both runs, every column, numbers in range, the setting stated
    table = pd.read_csv(results / "tables" / "sts.csv")
    assert list(table.variant) == ["untrained-cls", "infonce"]  # the config's order
    for column in ["STS12", "STS13", "STS14", "STS15", "STS16", "STS-B", "SICK-R", "Avg."]:
        assert table[column].map(lambda v: math.isfinite(v) and -100 <= v <= 100).all()
    assert "'all' setting" in (results / "tables" / "sts.md").read_text()
    transfer = pd.read_csv(results / "tables" / "transfer.csv")
    assert transfer[["TREC", "MRPC", "Avg."]].map(lambda v: 0 < v <= 100).all().all()
    assert "fast' mode" in (results / "tables" / "transfer.md").read_text()

    # the trained run: model, log, provenance; evaluated from its own folder
    run = results / "tiny" / "infonce" / "seed~0"
    hparams = json.loads((run / "hparams.json").read_text())
    assert hparams["result"]["steps"] == 3 and hparams["train"]["lr"] == 3e-5
    assert hparams["loss_args"] == {"tau": 0.05}
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["type"] == "eval"] == [2, 3]
    sts = json.loads((run / "sts.json").read_text())
    assert sts["meta"]["model_source"] == "results/tiny/infonce/seed~0/model" and sts["meta"]["pooler"] == "cls"
    assert sts["STS12"]["spearman"] == sts["STS12"]["spearman_all"] != sts["STS12"]["spearman_wmean"]
    trained = json.loads((run / "transfer.json").read_text())
    assert trained["mode"] == "fast" and trained["engine"] == "torch" and "f1" in trained["tasks"]["MRPC"]
    assert not (results / "checkpoints" / "tiny" / "infonce" / "seed~0").exists()  # cleaned after success

    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(run / "model"), device="cpu").encode(["a test ."]).shape == (1, 32)

    # data provenance, logs and benchmarks of every rule
    assert json.loads((results / "data" / "senteval.sha256.json").read_text())["source"] == "local"
    assert (results / "logs" / "train" / "tiny" / "infonce" / "seed~0.log").stat().st_size > 0
    assert (results / "benchmarks" / "eval_sts" / "tiny" / "untrained-cls" / "seed~0.tsv").is_file()

    # the comparisons hold a note (no ori/mod variants here), the figures exist, and the HTML report
    # (`snakemake --report`) holds every table and figure
    assert "No ori/mod variant" in (results / "tables" / "ori_vs_mod.md").read_text()
    assert "Spearman" in (results / "tables" / "sts.html").read_text()
    report = tmp_path / "report.html"
    built = _snakemake(study, data_env, "--report", str(report))
    assert built.returncode == 0, built.stderr[-3000:]
    page = report.read_text(encoding="utf-8")
    tables = [
        f"results/tables/{name}{ext}"
        for ext in (".html", ".md", ".tex", ".csv")
        for name in ("sts", "ori_vs_mod", "ablation", "transfer", "provenance", "cost")
    ]
    tables += ["results/tables/sts_long.csv", "results/tables/transfer_long.csv"]
    figures = [
        f"results/figures/{name}.{ext}"
        for ext in ("png", "pdf")
        for name in ("figure1_ori_vs_mod", "ablation", "training_curves_tiny")
    ]
    figures += [
        f"results/simulations/figures/simulation_{kind}.{ext}"
        for ext in ("png", "pdf")
        for kind in ("gd", "weight", "ratio")
    ]
    assert [f for f in tables + figures if (study / f).stat().st_size == 0] == []
    assert [f for f in tables + figures if f'"{f}"' not in page] == []
    assert "Resolved configuration" in page and "untrained-cls" in page

    # cached: nothing to do; a changed learning rate retrains (params trigger) but re-uses the views
    assert "Nothing to be done" in _snakemake(study, data_env, "-n").stdout
    # a recording setting does not shape the model: logging less often retrains nothing
    _write_config(study, tiny_bert_dir, lr=3e-5, simulations=tiny_simulations, log_steps=2)
    assert "Nothing to be done" in _snakemake(study, data_env, "-n").stdout
    _write_config(study, tiny_bert_dir, lr=1e-4, simulations=tiny_simulations)
    plan = _snakemake(study, data_env, "-n").stdout
    assert "rule train:" in plan and "Params have changed" in plan
    assert "rule augment:" not in plan


def test_corrupt_data_stops_the_run_and_names_the_file(tmp_path, tiny_bert_dir, data_env, downstream, tiny_simulations):
    mirror = tmp_path / "mirror"
    shutil.copytree(downstream, mirror)
    (mirror / "SICK" / "SICK_trial.txt").write_text("truncated\n")
    _write_config(tmp_path, tiny_bert_dir, lr=3e-5, simulations=tiny_simulations)
    result = _snakemake(tmp_path, {**data_env, "GRADPARADIGM_SENTEVAL_DIR": str(mirror)}, "--cores", "2")
    assert result.returncode != 0
    log = (tmp_path / "results" / "logs" / "fetch_senteval.log").read_text()
    assert "SICK/SICK_trial.txt: sha256 mismatch" in log
    assert not (tmp_path / "results" / "data" / "senteval").exists()
