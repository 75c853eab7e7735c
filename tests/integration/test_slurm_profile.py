"""The SLURM profile against a real (single-node, localhost) SLURM cluster.

The shipped profile (``workflow/profiles/slurm/config.yaml``) is adapted the way a site would adapt
it (partition, no account, small memory and CPU counts for a 2-core node, ``squeue`` as the status
command because this cluster has no accounting database) and the tiny study is submitted through
it: every job goes through ``sbatch``, the train job asks for a GPU (``--gpus=1``).

Runs where ``sinfo`` answers and the node advertises a ``gpu`` GRES; CI starts such a cluster with
``SLURM_FAKE_GPUS=1 bash ../shared/tools/slurm-local-setup.sh`` (see ``.ci/run``). Skipped elsewhere.
"""

from __future__ import annotations

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


def _cluster_ready() -> str | None:
    """None when a usable cluster is up, else why not."""
    if not shutil.which("sinfo"):
        return "no SLURM client on this machine (CI sets one up: .ci/run)"
    try:
        nodes = subprocess.run(["scontrol", "show", "node"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"SLURM does not answer: {exc}"
    if nodes.returncode != 0:
        return f"SLURM does not answer: {nodes.stderr.strip()}"
    if "gpu" not in nodes.stdout:
        return "the SLURM node advertises no gpu GRES (start it with SLURM_FAKE_GPUS=1)"
    return None


def _site_profile(folder: Path) -> Path:
    """The shipped profile with this test cluster's site settings filled in."""
    profile = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"] = {"slurm_partition": "debug", "mem_mb": 1000, "runtime": 10}
    for resources in profile["set-resources"].values():
        resources.update(slurm_partition="debug", mem_mb=2000, runtime=10)
        if "cpus_per_gpu" in resources:
            resources["cpus_per_gpu"] = 1
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    profile.update({
        "jobs": 2, "latency-wait": 5, "retries": 0, "slurm-logdir": str(folder / "slurm-logs"),
        # no slurmdbd here: sacct cannot answer, and the plugin would wait forever
        "slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 5,
        "slurm-no-account": True, "slurm-keep-successful-logs": True,
    })
    profile.pop("slurm_account", None)
    path = folder / "profile"
    path.mkdir()
    (path / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def test_tiny_study_through_the_slurm_profile(tmp_path, tiny_bert_dir, shared_data):
    reason = _cluster_ready()
    if reason:
        pytest.skip(reason)
    corpus = tmp_path / "corpus.txt"
    lines = (shared_data / "wiki" / "wiki1m_for_simcse.head11914.txt").read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(lines[:100]) + "\n", encoding="utf-8")
    study = tmp_path / "study"
    study.mkdir()
    config = {
        "models": {"tiny": {"source": str(tiny_bert_dir)}},
        "variants": {"untrained-cls": {"loss": "none"},
                     "infonce": {"loss": "infonce", "train": {"batch_size": 8, "max_steps": 2, "eval_steps": 2}}},
        "data": {"senteval": {"local_dir": str(shared_data / "downstream")}, "corpus": {"local_file": str(corpus)}},
        "eval": {"sts_tasks": ["STSBenchmark"], "transfer_tasks": [], "max_length": 32},
    }
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    profile = _site_profile(tmp_path)
    # the jobs run `python -m snakemake` in an exported environment: this interpreter comes first
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "snakemake", "--profile", str(profile), "--snakefile", str(REPO / "Snakefile"),
             "--directory", str(study), "--configfile", str(study / "config.yaml")],
            capture_output=True, text=True, timeout=900, env=env)
    finally:  # never leave this test's jobs in the queue
        queue = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True)
        for line in queue.stdout.splitlines():
            job, _, workdir = line.partition(" ")
            if workdir.startswith(str(study)):
                subprocess.run(["scancel", job], check=False)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    table = pd.read_csv(study / "results" / "tables" / "sts.csv")
    assert list(table.variant) == ["untrained-cls", "infonce"]
    assert (study / "results" / "tiny" / "infonce" / "seed~0" / "model" / "model.safetensors").is_file()
    # every job went through sbatch: SLURM wrote a log per rule
    submitted = {p.relative_to(tmp_path / "slurm-logs").parts[0] for p in (tmp_path / "slurm-logs").rglob("*.log")}
    assert {"rule_fetch_senteval", "rule_augment", "rule_train", "rule_eval_sts", "rule_aggregate"} <= submitted
