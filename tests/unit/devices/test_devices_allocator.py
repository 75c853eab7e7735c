"""gradparadigm.devices: which GPUs a job may use, and one job per GPU under concurrency and crashes.

No GPU is needed: ``GRADPARADIGM_GPUS=0,1,2`` fakes three devices (the allocator only hands out
names and locks; CUDA is never started).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from devices_testkit import FAKE_JOB, assert_one_device_per_job, job_env, max_overlap, read_records

from gradparadigm import cli, devices
from gradparadigm.errors import DeviceError


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GRADPARADIGM_GPUS": "0, 1,3"}, ["0", "1", "3"]),
        (
            {"GRADPARADIGM_GPUS": "GPU-8a1b2c3d-0000-1111-2222-333344445555"},
            ["GPU-8a1b2c3d-0000-1111-2222-333344445555"],
        ),
        ({"GRADPARADIGM_GPUS": "none", "CUDA_VISIBLE_DEVICES": "0,1"}, []),
        ({"GRADPARADIGM_GPUS": "auto", "CUDA_VISIBLE_DEVICES": "2,3"}, ["2", "3"]),
        ({"CUDA_VISIBLE_DEVICES": "0,1"}, ["0", "1"]),
        ({"CUDA_VISIBLE_DEVICES": "0,-1,2"}, ["0"]),  # CUDA stops at the first invalid entry
        ({"CUDA_VISIBLE_DEVICES": ""}, []),
    ],
)
def test_the_devices_a_job_may_claim(environ, expected):
    assert devices.available_gpus(environ) == expected


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("0,gpu1", r"GRADPARADIGM_GPUS='0,gpu1': 'gpu1' is not a device"),
        ("0,,1", r"'' is not a device"),
        ("1,1", r"a device is listed twice"),
    ],
)
def test_a_bad_device_list_names_the_variable(setting, message):
    with pytest.raises(DeviceError, match=message):
        devices.available_gpus({"GRADPARADIGM_GPUS": setting})


def test_auto_counts_the_gpus_nvidia_smi_lists(monkeypatch):
    listing = (
        "GPU 0: NVIDIA H100 (UUID: GPU-1)\n  MIG 1g.10gb Device 0: (UUID: MIG-1)\nGPU 1: NVIDIA H100 (UUID: GPU-2)\n"
    )
    monkeypatch.setattr(devices.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(
        devices.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=listing, stderr="")
    )
    assert devices.available_gpus({}) == ["0", "1"]


def test_without_gpus_nothing_is_claimed_or_set(monkeypatch, tmp_path):
    monkeypatch.setattr(devices.shutil, "which", lambda name: None)  # no NVIDIA driver
    environ = {"GRADPARADIGM_GPU_LOCK_DIR": str(tmp_path / "locks")}
    assert devices.claim_gpu(environ) is None
    assert "CUDA_VISIBLE_DEVICES" not in environ
    assert not (tmp_path / "locks").exists()


def test_locks_are_per_scheduler_allocation(tmp_path):
    local = devices.lock_dir({})
    assert local.name == "local"
    # two SLURM jobs on one node may both call their GPU "0": they must not wait for each other
    assert devices.lock_dir({"SLURM_JOB_ID": "17"}) not in (local, devices.lock_dir({"SLURM_JOB_ID": "18"}))
    assert devices.lock_dir({"GRADPARADIGM_GPU_LOCK_DIR": str(tmp_path)}) == tmp_path


def test_claims_in_one_process_exclude_each_other_and_waiting_times_out(tmp_path):
    base = {"GRADPARADIGM_GPUS": "0,1", "GRADPARADIGM_GPU_LOCK_DIR": str(tmp_path)}
    first, second = dict(base), dict(base)
    with devices.claim_gpu(first) as a, devices.claim_gpu(second) as b:
        assert (a.device, first["CUDA_VISIBLE_DEVICES"]) == ("0", "0")
        assert (b.device, second["CUDA_VISIBLE_DEVICES"]) == ("1", "1")
        with pytest.raises(DeviceError, match=r"no free GPU among 0,1 after 0.2 s; held by: GPU 0 \(pid \d+"):
            devices.claim_gpu(dict(base), timeout=0.2, poll_s=0.05)
        a.release()
        with devices.claim_gpu(dict(base), timeout=1) as c:
            assert c.device == "0"


def test_concurrent_jobs_each_get_their_own_device(tmp_path):
    """Six jobs started at once on three (fake) devices: every job gets one, and no two hold the same
    device at the same time."""
    env = job_env(tmp_path / "locks", "0,1,2")
    outs = [tmp_path / f"job{i}.json" for i in range(6)]
    jobs = [subprocess.Popen([sys.executable, str(FAKE_JOB), str(out), "0.6"], env=env) for out in outs]
    assert [job.wait(timeout=60) for job in jobs] == [0] * 6
    records = read_records(outs)
    assert_one_device_per_job(records, {"0", "1", "2"})
    assert max_overlap(records) <= 3


def test_a_killed_job_releases_its_device(tmp_path):
    env = job_env(tmp_path / "locks", "0")
    out = tmp_path / "killed.json"
    job = subprocess.Popen([sys.executable, str(FAKE_JOB), str(out), "600"], env=env)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{out}.claimed").exists():
            assert job.poll() is None and time.monotonic() < deadline, "the job never claimed its GPU"
            time.sleep(0.05)
        held = dict(env)
        with pytest.raises(DeviceError, match=rf"held by: GPU 0 \(pid {job.pid}"):
            devices.claim_gpu(held, timeout=0.2, poll_s=0.05)
        job.send_signal(signal.SIGKILL)  # no handler, no cleanup: only the kernel releases the lock
        assert job.wait(timeout=30) == -signal.SIGKILL
        with devices.claim_gpu(dict(env), timeout=5) as claim:
            assert claim.device == "0"
    finally:
        if job.poll() is None:
            job.kill()


@pytest.mark.parametrize(("preference", "claims"), [("auto", True), ("cuda", True), ("cpu", False), ("cuda:1", False)])
def test_the_commands_claim_a_gpu_unless_told_the_device(monkeypatch, tmp_path, preference, claims):
    calls = []

    def stop_here():
        calls.append(True)
        raise RuntimeError("claimed")

    monkeypatch.setattr(devices, "claim_gpu_for_process", stop_here)
    missing = str(tmp_path / "missing")
    eval_sts = ["eval-sts", "--model", missing, "--sts-table", missing, "--out", missing, "--device", preference]
    train = [
        "train",
        "--model",
        missing,
        "--views",
        missing,
        "--sts-table",
        missing,
        "--loss",
        "infonce",
        "--settings",
        "{}",
        "--seed",
        "0",
        "--model-out",
        missing,
        "--log-out",
        missing,
        "--hparams-out",
        missing,
        "--checkpoint-dir",
        missing,
        "--device",
        preference,
    ]
    for argv in (eval_sts, train):
        calls.clear()
        assert cli.main(argv) == 1  # stopped by the claim, or later by the missing files
        assert calls == ([True] if claims else [])
