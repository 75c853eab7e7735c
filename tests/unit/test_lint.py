"""The code style is enforced, not suggested: ruff (pyproject.toml [tool.ruff]) on the Python code
and snakefmt on the workflow, as part of the test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return path


def test_ruff():
    result = subprocess.run(
        [_tool("ruff"), "check", "--output-format", "concise", "src", "tests", "bench", "examples"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", "src", "tests", "bench", "examples"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, "run `ruff format src tests bench examples`:\n" + result.stdout + result.stderr


def test_snakefmt():
    result = subprocess.run(
        [_tool("snakefmt"), "--check", "Snakefile", "workflow"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
