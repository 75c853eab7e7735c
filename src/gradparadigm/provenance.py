"""What produced a result: library versions, the code's git commit, the device."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "transformers", "sentence-transformers", "scikit-learn", "numpy", "gradparadigm")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo: str | Path | None = None) -> str:
    repo = Path(repo) if repo else Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_digest(parts: tuple[str, ...] | None = None) -> str:
    """sha256 of the library's source files: a rerun trigger that git state alone would miss.

    ``parts`` restricts it to some modules or subpackages (paths relative to the package, e.g.
    ``("training", "encoder.py")``); default: the whole package.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    files = root.rglob("*.py") if parts is None else (
        f for part in parts for f in ((root / part).rglob("*.py") if (root / part).is_dir() else [root / part]))
    for file in sorted(set(files)):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def environment_info(device=None) -> dict:
    import torch

    info = {"versions": package_versions(), "git_commit": git_commit(), "code_digest": code_digest(),
            "host_cpu_threads": torch.get_num_threads()}
    if device is not None:
        info["device"] = str(device)
        if getattr(device, "type", str(device)) == "cuda" and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(device)
    return info
