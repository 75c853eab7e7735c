"""One GPU per job: a job that will use CUDA claims a free device first and pins itself to it.

Snakemake counts GPUs but assigns none: ``--resources gpu=N`` caps how many jobs that declare
``gpu=1`` run at once, yet every local job sees every GPU, and CUDA puts them all on device 0. So a
GPU job calls :func:`claim_gpu` before CUDA starts (before the first ``torch.cuda`` call): it takes
an exclusive ``flock`` on the lock file of the first free device among those this job may use, sets
``CUDA_VISIBLE_DEVICES`` to that one device and keeps the lock until it ends. The kernel drops a
flock when its process dies, however it dies (SIGKILL, out of memory), so a killed job never keeps a
device. With ``--resources gpu=N`` and N devices a job never waits; when all are held (a larger
limit, or another Snakemake run of the same user), it waits for one and logs which processes hold
them.

Which devices, from ``GRADPARADIGM_GPUS``:

- unset, empty or ``auto``: the entries of ``CUDA_VISIBLE_DEVICES`` when it is set (as CUDA reads
  it: up to the first entry that is not a device), else every GPU ``nvidia-smi -L`` lists, else
  none;
- ``none``: none (every job sees what it saw before, as without this module);
- a comma-separated list of device indices or UUIDs, as ``CUDA_VISIBLE_DEVICES`` takes them
  (``0,1,2,3``); the tests fake devices this way on machines without any.

No device: nothing is claimed and nothing is set, the job runs as before (on the CPU).

Locks live in ``GRADPARADIGM_GPU_LOCK_DIR``, else a folder of this user under ``$XDG_RUNTIME_DIR``
or the temporary folder, one subfolder per batch-scheduler allocation (``SLURM_JOB_ID``,
``PBS_JOBID``, ``LSB_JOBID``): jobs of one allocation share its devices, while two allocations on
one node, which may both call their own GPU "0", never wait for each other. They coordinate the jobs
of one user; other users' processes on the GPUs are not seen (give the pipeline the free ones
through ``CUDA_VISIBLE_DEVICES`` or ``GRADPARADIGM_GPUS``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path

from gradparadigm.errors import DeviceError

log = logging.getLogger(__name__)

GPUS_ENV = "GRADPARADIGM_GPUS"
LOCK_DIR_ENV = "GRADPARADIGM_GPU_LOCK_DIR"
SCHEDULER_JOB_ENVS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID")
# what CUDA_VISIBLE_DEVICES accepts: an index, or a GPU / MIG UUID (MIG-GPU-<uuid>/<gi>/<ci> too)
_DEVICE_ID = re.compile(r"^(\d+|GPU-[0-9A-Fa-f-]+|MIG-[0-9A-Za-z/-]+)$")


def _cuda_visible_entries(value: str) -> list[str]:
    """The devices of a ``CUDA_VISIBLE_DEVICES`` value: CUDA stops at the first invalid entry."""
    devices = []
    for entry in value.split(","):
        entry = entry.strip()
        if not _DEVICE_ID.match(entry):
            break
        devices.append(entry)
    return devices


def _nvidia_smi_devices() -> list[str]:
    """Indices of the GPUs ``nvidia-smi -L`` lists (none when it is missing or fails)."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return []
    try:
        listing = subprocess.run([command, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("nvidia-smi -L failed (%s): no GPU is assigned", exc)
        return []
    if listing.returncode != 0:
        return []
    count = sum(line.startswith("GPU ") for line in listing.stdout.splitlines())
    return [str(index) for index in range(count)]


def available_gpus(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """The devices jobs may claim, from ``GRADPARADIGM_GPUS`` (see the module docstring)."""
    environ = os.environ if environ is None else environ
    setting = environ.get(GPUS_ENV, "").strip()
    if setting.lower() == "none":
        return []
    if setting and setting.lower() != "auto":
        devices = [entry.strip() for entry in setting.split(",")]
        bad = [entry for entry in devices if not _DEVICE_ID.match(entry)]
        if bad:
            raise DeviceError(
                f"{GPUS_ENV}={setting!r}: {bad[0]!r} is not a device; expected auto, none or "
                "a comma-separated list of device indices or UUIDs (e.g. 0,1,2,3)"
            )
        if len(set(devices)) != len(devices):
            raise DeviceError(f"{GPUS_ENV}={setting!r}: a device is listed twice")
        return devices
    if "CUDA_VISIBLE_DEVICES" in environ:
        return _cuda_visible_entries(environ["CUDA_VISIBLE_DEVICES"])
    return _nvidia_smi_devices()


def lock_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """The folder of the device locks: this user's, one subfolder per scheduler allocation."""
    environ = os.environ if environ is None else environ
    if environ.get(LOCK_DIR_ENV):
        return Path(environ[LOCK_DIR_ENV])
    base = Path(environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"gradparadigm-gpus-{os.getuid()}"
    allocation = next((f"{name}-{environ[name]}" for name in SCHEDULER_JOB_ENVS if environ.get(name)), "local")
    return base / re.sub(r"[^A-Za-z0-9_.-]", "_", allocation)


def _lock_path(folder: Path, device: str) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", device) + ".lock")


@dataclasses.dataclass
class GpuClaim:
    """A device held through an open, flocked lock file; released by :meth:`release` or at exit."""

    device: str
    path: Path
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = -1

    def __enter__(self) -> GpuClaim:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def try_claim(devices: list[str], folder: Path) -> GpuClaim | None:
    """Lock the first device of ``devices`` that no other process holds; None when all are held."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DeviceError(
            f"{folder}: cannot create the GPU lock folder ({exc.strerror}); set "
            f"{LOCK_DIR_ENV} to a writable local folder"
        ) from None
    for device in devices:
        path = _lock_path(folder, device)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise DeviceError(
                f"{path}: cannot open the GPU lock file ({exc.strerror}); set {LOCK_DIR_ENV} to a writable local folder"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        # who holds it, for the message of a job that waits (the lock, not this text, is the claim)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}\n".encode(), 0)
        return GpuClaim(device, path, fd)
    return None


def _holders(devices: list[str], folder: Path) -> str:
    lines = []
    for device in devices:
        try:
            holder = _lock_path(folder, device).read_text().strip()
        except OSError:
            holder = "?"
        lines.append(f"GPU {device} ({holder or '?'})")
    return "; ".join(lines)


def claim_gpu(
    environ: MutableMapping[str, str] | None = None, *, timeout: float | None = None, poll_s: float = 0.5
) -> GpuClaim | None:
    """Claim a free device and pin ``environ`` (default: this process's) to it.

    Returns None, setting nothing, when no device is available (see :func:`available_gpus`). Waits
    while every device is held; after ``timeout`` seconds (None: forever) raises DeviceError. Call it
    before CUDA starts: CUDA reads ``CUDA_VISIBLE_DEVICES`` once, at its first use in a process.
    """
    environ = os.environ if environ is None else environ
    devices = available_gpus(environ)
    if not devices:
        return None
    folder = lock_dir(environ)
    start = time.monotonic()
    waiting_logged = False
    while (claim := try_claim(devices, folder)) is None:
        if timeout is not None and time.monotonic() - start >= timeout:
            raise DeviceError(
                f"no free GPU among {','.join(devices)} after {timeout:g} s; held by: "
                f"{_holders(devices, folder)} (locks in {folder})"
            )
        if not waiting_logged:
            log.info("every GPU is in use, waiting for one: %s", _holders(devices, folder))
            waiting_logged = True
        time.sleep(poll_s)
    environ["CUDA_VISIBLE_DEVICES"] = claim.device
    log.info(
        "CUDA_VISIBLE_DEVICES=%s: GPU %s of %s is this job's until it ends (lock %s)",
        claim.device,
        claim.device,
        ",".join(devices),
        claim.path,
    )
    return claim


_PROCESS_CLAIM: list[GpuClaim] = []  # held until the process ends


def claim_gpu_for_process() -> str | None:
    """:func:`claim_gpu` for this process, held until it ends; the device, or None. Idempotent."""
    if not _PROCESS_CLAIM:
        claim = claim_gpu()
        if claim is None:
            return None
        _PROCESS_CLAIM.append(claim)
    return _PROCESS_CLAIM[0].device
