"""Shared by the device tests: run fake GPU jobs and check what they received."""

from __future__ import annotations

import json
import os
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FAKE_JOB = Path(__file__).with_name("fake_gpu_job.py")


def job_env(lock_dir: Path, gpus: str | None) -> dict[str, str]:
    """The environment of a fake job: this checkout's library, ``GRADPARADIGM_GPUS=gpus`` (unset when
    None), locks under ``lock_dir``, and no CUDA_VISIBLE_DEVICES inherited from the test machine."""
    env = {key: value for key, value in os.environ.items() if key not in ("CUDA_VISIBLE_DEVICES", "GRADPARADIGM_GPUS")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env["GRADPARADIGM_GPU_LOCK_DIR"] = str(lock_dir)
    if gpus is not None:
        env["GRADPARADIGM_GPUS"] = gpus
    return env


def read_records(paths) -> list[dict]:
    return [json.loads(Path(path).read_text()) for path in paths]


def max_overlap(records: list[dict]) -> int:
    """The largest number of jobs that held their device at the same moment."""
    events = sorted([(r["start"], 1) for r in records] + [(r["end"], -1) for r in records])
    running = peak = 0
    for _, step in events:  # at equal times an end (-1) sorts before a start (+1)
        running += step
        peak = max(peak, running)
    return peak


def assert_one_device_per_job(records: list[dict], devices: set[str]) -> None:
    """Every job got one of ``devices`` and pinned itself to it; two jobs on one device never overlap."""
    for record in records:
        assert record["device"] in devices, record
        assert record["cuda_visible_devices"] == record["device"], record
    for a, b in combinations(records, 2):
        if a["device"] == b["device"]:
            assert a["end"] <= b["start"] or b["end"] <= a["start"], (a, b)
