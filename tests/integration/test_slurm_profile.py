"""The SLURM profile against a real (single-node, localhost) SLURM cluster.

The shipped profile (``workflow/profiles/slurm/config.yaml``) is adapted the way a site would adapt
it (partition, no account, small memory and CPU counts for a 2-core node, ``squeue`` as the status
command because this cluster has no accounting database) and the tiny study is submitted through
it: every job goes through ``sbatch``, the train job asks for a GPU (``--gpus=1``). A second test
cancels the train job mid-run (``scancel``) and checks that rerunning the same command resumes it
from its checkpoint and ends with the weights of an uninterrupted run.

Runs where ``sinfo`` answers and the node advertises a ``gpu`` GRES; CI starts such a cluster with
``SLURM_FAKE_GPUS=1 bash ../shared/tools/slurm-local-setup.sh`` (see ``.ci/run``). Skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
MAX_STEPS = 300  # of the cancelled run


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


def _site_profile(folder: Path, **overrides) -> Path:
    """The shipped profile with this test cluster's site settings filled in (and ``overrides``)."""
    profile = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"] = {"slurm_partition": "debug", "mem_mb": 1000, "runtime": 10}
    for resources in profile["set-resources"].values():
        resources.update(slurm_partition="debug", mem_mb=2000, runtime=10)
        if "cpus_per_gpu" in resources:
            resources["cpus_per_gpu"] = 1
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    profile.update(
        {
            "jobs": 2,
            "latency-wait": 5,
            "retries": 0,
            "slurm-logdir": str(folder / "slurm-logs"),
            # no slurmdbd here: sacct cannot answer, and the plugin would wait forever
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 5,
            "slurm-no-account": True,
            "slurm-keep-successful-logs": True,
        }
    )
    profile.pop("slurm_account", None)
    profile.update(overrides)
    path = folder / "profile"
    path.mkdir()
    (path / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def _job_env() -> dict[str, str]:
    # the jobs run `python -m snakemake` in an exported environment: this interpreter comes first
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def _snakemake_command(study: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(study),
        "--configfile",
        str(study / "config.yaml"),
        *args,
    ]


def _jobs_in(folder: Path) -> list[str]:
    """The SLURM jobs (queued or running) whose working directory is ``folder`` or below it."""
    queue = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True, timeout=30)
    jobs = []
    for line in queue.stdout.splitlines():
        job, _, workdir = line.partition(" ")
        if workdir == str(folder) or workdir.startswith(f"{folder}{os.sep}"):
            jobs.append(job)
    return jobs


def _cancel_jobs_in(folder: Path) -> None:
    for job in _jobs_in(folder):
        subprocess.run(["scancel", job], check=False, timeout=30)


def test_tiny_study_through_the_slurm_profile(tmp_path, tiny_bert_dir, shared_data, tiny_simulations):
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
        "variants": {
            "untrained-cls": {"loss": "none"},
            "infonce": {"loss": "infonce", "train": {"batch_size": 8, "max_steps": 2, "eval_steps": 2}},
        },
        "data": {"senteval": {"local_dir": str(shared_data / "downstream")}, "corpus": {"local_file": str(corpus)}},
        "eval": {"sts_tasks": ["STSBenchmark"], "transfer_tasks": [], "max_length": 32},
        "simulations": tiny_simulations,
    }
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    profile = _site_profile(tmp_path)
    env = _job_env()
    try:
        run = subprocess.run(
            _snakemake_command(study, "--profile", str(profile)), capture_output=True, text=True, timeout=900, env=env
        )
    finally:  # never leave this test's jobs in the queue
        _cancel_jobs_in(study)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    table = pd.read_csv(study / "results" / "tables" / "sts.csv")
    assert list(table.variant) == ["untrained-cls", "infonce"]
    assert (study / "results" / "tiny" / "infonce" / "seed~0" / "model" / "model.safetensors").is_file()
    # every job went through sbatch: SLURM wrote a log per rule
    submitted = {p.relative_to(tmp_path / "slurm-logs").parts[0] for p in (tmp_path / "slurm-logs").rglob("*.log")}
    assert {"rule_augment", "rule_train", "rule_eval_sts"} <= submitted
    # downloads and aggregation run where Snakemake runs (localrules), not on compute nodes
    assert not {"rule_fetch_senteval", "rule_fetch_corpus", "rule_aggregate", "rule_simulate"} & submitted


def _untimed_log(path: Path, skip_loss_mean_at: int) -> list[dict]:
    """The records of a train_log.jsonl without their timings, and without ``loss_mean`` in the
    train record of step ``skip_loss_mean_at``."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        for key in ("sec_per_step", "elapsed"):
            record.pop(key, None)
        if record["type"] == "train" and record["step"] == skip_loss_mean_at:
            record.pop("loss_mean")
    return records


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_cancelled_train_job_resumes_from_its_checkpoint(tmp_path, tiny_bert_dir, shared_data):
    """scancel the train job after its first checkpoint; the same command run again resumes it and
    ends with the weights of an uninterrupted run (bit-identical: CPU, one thread each)."""
    reason = _cluster_ready()
    if reason:
        pytest.skip(reason)
    corpus = tmp_path / "corpus.txt"  # 2000 sentences: 250 steps an epoch at batch 8
    lines = (shared_data / "wiki" / "wiki1m_for_simcse.head11914.txt").read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(lines[:2000]) + "\n", encoding="utf-8")
    study = tmp_path / "study"
    study.mkdir()
    # ~75 steps/s and ~0.6 s per STS-B dev evaluation on an idle CPU: training proper takes ~8 s of
    # the job's 20-30 s (most of it is starting Snakemake and torch in the job); the first
    # checkpoint comes at step 20, well before the end. Short, because the SLURM plugin's status
    # checks come ever later (1, 12, 33, 64 s after submission): a job that ends by the third one
    # saves half a minute.
    train = {"batch_size": 8, "max_steps": MAX_STEPS, "eval_steps": 50, "log_steps": 10, "checkpoint_steps": 20}
    config = {
        "models": {"tiny": {"source": str(tiny_bert_dir)}},
        "variants": {"infonce": {"loss": "infonce", "train": train}},
        "data": {"senteval": {"local_dir": str(shared_data / "downstream")}, "corpus": {"local_file": str(corpus)}},
        "eval": {"sts_tasks": ["STSBenchmark"], "transfer_tasks": [], "max_length": 32},
    }
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = Path("results/tiny/infonce/seed~0")
    target = str(run / "model")
    env = _job_env()
    # the data and views locally (not what is under test), then a copy of the study that trains
    # locally without interruption, next to the SLURM one
    prepared = subprocess.run(
        _snakemake_command(study, "--cores", "2", "--omit-from", "train", target),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert prepared.returncode == 0, prepared.stderr[-4000:]
    reference = tmp_path / "reference"
    shutil.copytree(study, reference, symlinks=True)
    # one thread in both runs (the site profile's set-threads, --cores 1): on CPU the thread count
    # changes the order of floating-point sums
    profile = _site_profile(tmp_path, **{"slurm-init-seconds-before-status-checks": 1})
    submit = _snakemake_command(study, "--profile", str(profile), target)
    checkpoint = study / "results" / "checkpoints" / "tiny" / "infonce" / "seed~0" / "checkpoint.json"
    logs = {name: tmp_path / f"{name}.log" for name in ("reference", "first")}
    started = time.monotonic()
    processes = []
    try:
        with open(logs["reference"], "w") as out:
            processes.append(
                subprocess.Popen(
                    _snakemake_command(reference, "--cores", "1", target), stdout=out, stderr=subprocess.STDOUT, env=env
                )
            )
        with open(logs["first"], "w") as out:
            processes.append(subprocess.Popen(submit, stdout=out, stderr=subprocess.STDOUT, env=env))
        uninterrupted, first = processes
        while not checkpoint.exists():
            assert first.poll() is None, f"ended before the first checkpoint:\n{logs['first'].read_text()[-4000:]}"
            assert time.monotonic() - started < 300, "no checkpoint after 300 s"
            time.sleep(0.2)
        seen_step = json.loads(checkpoint.read_text())["step"]
        jobs = _jobs_in(study)
        assert len(jobs) == 1, jobs  # the train job, running
        subprocess.run(["scancel", *jobs], check=True, timeout=30)
        assert first.wait(timeout=300) != 0, logs["first"].read_text()[-4000:]
        assert not (study / run / "model").exists()
        second = subprocess.run(submit, capture_output=True, text=True, timeout=600, env=env)
        assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
        assert uninterrupted.wait(timeout=600) == 0, logs["reference"].read_text()[-4000:]
    finally:  # never leave this test's jobs in the queue or its processes running
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        _cancel_jobs_in(study)
    # resumed, not restarted: the trainer says so, and records the step it resumed from
    train_log = (study / "results" / "logs" / "train" / "tiny" / "infonce" / "seed~0.log").read_text()
    assert "resuming from the checkpoint at step" in train_log, train_log[-4000:]
    resumed = json.loads((study / run / "hparams.json").read_text())["result"]
    # from the step of a SIGTERM checkpoint (SLURM's scancel; the trainer checkpoints and stops), or
    # from the last periodic one had the job been killed outright
    assert len(resumed["resumed_from_steps"]) == 1 and seen_step <= resumed["resumed_from_steps"][0] < MAX_STEPS
    assert resumed["steps"] == MAX_STEPS
    assert json.loads((reference / run / "hparams.json").read_text())["result"]["resumed_from_steps"] == []
    # the same weights and the same training log (but for timings) as the uninterrupted run
    import torch

    weights = _tensors(study / run / "model" / "model.safetensors")
    expected = _tensors(reference / run / "model" / "model.safetensors")
    assert weights.keys() == expected.keys()
    assert [name for name in weights if not torch.equal(weights[name], expected[name])] == []
    # Known gap: `loss_mean` (the mean since the previous train record) of the first record after
    # the resumed step covers only the steps after it, as the checkpoint does not hold that window
    first_after = next(
        step
        for step in range(resumed["resumed_from_steps"][0] + 1, MAX_STEPS + 1)
        if step % train["log_steps"] == 0 or step == MAX_STEPS
    )
    assert _untimed_log(study / run / "train_log.jsonl", skip_loss_mean_at=first_after) == _untimed_log(
        reference / run / "train_log.jsonl", skip_loss_mean_at=first_after
    )
    assert not checkpoint.parent.exists()  # removed after success
