"""The local profile on an N-GPU workstation: ``--resources gpu=N`` runs N GPU jobs at once, each on its
own device; without GPUs the same profile runs the jobs as before, with no device set.

A tiny Snakefile of fake GPU jobs (``resources: gpu=1``, like the train and eval rules) run with the
shipped profile, ``workflow/profiles/local``; ``GRADPARADIGM_GPUS`` fakes the devices.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from devices_testkit import FAKE_JOB, REPO, assert_one_device_per_job, job_env, max_overlap, read_records

pytestmark = pytest.mark.slow  # real Snakemake runs (README: the quick loop skips them)

SNAKEFILE = """
rule all:
    input:
        expand("out/{{i}}.json", i=range({jobs})),


rule gpu_job:
    output:
        "out/{{i}}.json",
    resources:
        gpu=1,
    shell:
        "{python} {job} {{output}} {hold}"
"""


def _run_local_profile(work: Path, env: dict, jobs: int, hold: float, *args: str) -> list[dict]:
    work.mkdir()
    (work / "Snakefile").write_text(SNAKEFILE.format(jobs=jobs, python=sys.executable, job=FAKE_JOB, hold=hold))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(work / "Snakefile"),
            "--directory",
            str(work),
            "--workflow-profile",
            str(REPO / "workflow/profiles/local"),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    # the profile's limit kept the jobs to the devices: none had to wait for one
    assert "every GPU is in use" not in result.stderr
    return read_records(work / "out" / f"{i}.json" for i in range(jobs))


def test_n_gpus_run_n_jobs_at_once_each_on_its_own_device(tmp_path):
    env = job_env(tmp_path / "locks", "0,1,2")
    records = _run_local_profile(tmp_path / "work", env, 6, 1.5, "--cores", "6", "--resources", "gpu=3")
    assert_one_device_per_job(records, {"0", "1", "2"})
    assert 2 <= max_overlap(records) <= 3  # in parallel (the profile's gpu=1 overridden), never over 3


def test_without_gpus_the_profile_runs_the_jobs_with_no_device_set(tmp_path):
    records = _run_local_profile(tmp_path / "work", job_env(tmp_path / "locks", "none"), 2, 0.1, "--cores", "2")
    assert [(r["device"], r["cuda_visible_devices"]) for r in records] == [(None, None)] * 2


@pytest.mark.parametrize(("gpus", "eval_gpu"), [("0,1", 1), ("none", 0)])
def test_evaluations_count_against_the_gpu_limit_only_where_there_are_gpus(tmp_path, gpus, eval_gpu):
    """On a machine without GPUs an evaluation runs beside training (as before); with GPUs it takes one."""
    (tmp_path / "study.yaml").write_text(
        yaml.safe_dump({"models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}}, "variants": {"v": {"loss": "none"}}})
    )
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "results/m/v/seed~0/sts.json",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "study.yaml"),
        ],
        env=job_env(tmp_path / "locks", gpus),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dry.returncode == 0, dry.stderr
    job = dry.stdout[dry.stdout.index("rule eval_sts:") :]
    assert re.search(r"resources: .*\bgpu=(\d+)", job).group(1) == str(eval_gpu)
