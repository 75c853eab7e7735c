"""What produced a result: library versions, the code's git commit, the device."""

from __future__ import annotations

import ast
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
        out = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_digest(parts: tuple[str, ...] | None = None) -> str:
    """sha256 of the library's source files: a rerun trigger that git state alone would miss.

    ``parts`` restricts it to some modules or subpackages (paths relative to the package, e.g.
    ``("training", "encoder.py")``); default: the whole package.
    """
    return digest_files(PACKAGE_ROOT.rglob("*.py") if parts is None else package_files(parts))


def environment_info(device=None) -> dict:
    import torch

    info = {
        "versions": package_versions(),
        "git_commit": git_commit(),
        "code_digest": code_digest(),
        "host_cpu_threads": torch.get_num_threads(),
    }
    if device is not None:
        info["device"] = str(device)
        if getattr(device, "type", str(device)) == "cuda" and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(device)
    return info


PACKAGE_ROOT = Path(__file__).resolve().parent


def local_imports(files, stop: tuple[str, ...] = ()) -> set[Path]:
    """``files`` and every module of their package they import relatively (``from .x import``),
    transitively; modules named in ``stop`` (e.g. a registry that imports everything) are kept out
    and not followed."""
    seen: set[Path] = set()
    todo = [Path(f).resolve() for f in files]
    while todo:
        file = todo.pop()
        if file in seen or file.name in stop or not file.is_file():
            continue
        seen.add(file)
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), filename=str(file))):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                todo.append(file.parent / f"{node.module.split('.')[0]}.py")
    return seen


def digest_files(files) -> str:
    """sha256 over ``files`` (path relative to the package, then content), in a fixed order."""
    digest = hashlib.sha256()
    for file in sorted({Path(f).resolve() for f in files}):
        inside = file.is_relative_to(PACKAGE_ROOT)
        digest.update((file.relative_to(PACKAGE_ROOT).as_posix() if inside else f"outside/{file.name}").encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def package_files(parts: tuple[str, ...]) -> set[Path]:
    """The ``.py`` files of the given modules or subpackages (paths relative to the package)."""
    return {
        f
        for part in parts
        for f in ((PACKAGE_ROOT / part).rglob("*.py") if (PACKAGE_ROOT / part).is_dir() else [PACKAGE_ROOT / part])
    }
