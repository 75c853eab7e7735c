"""A local data source is a real input: repairing the user's file re-runs the copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # real Snakemake runs (README: the quick loop skips them)

REPO = Path(__file__).resolve().parents[3]


def _snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--cores",
            "1",
            *args,
            "--configfile",
            str(work / "study.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_changed_local_corpus_is_copied_again(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("first version\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "study.yaml").write_text(
        yaml.safe_dump(
            {
                "models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}},
                "variants": {"v": {"loss": "none"}},
                "data": {"corpus": {"local_file": str(corpus)}},
            }
        )
    )
    assert _snakemake(work, "results/data/corpus.txt").returncode == 0
    assert (work / "results/data/corpus.txt").read_text() == "first version\n"

    dry = _snakemake(work, "-n", "results/data/corpus.txt")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    corpus.write_text("repaired version\n")
    os.utime(corpus, ns=(corpus.stat().st_atime_ns, corpus.stat().st_mtime_ns + 10**9))
    result = _snakemake(work, "results/data/corpus.txt")
    assert result.returncode == 0, result.stderr
    assert (work / "results/data/corpus.txt").read_text() == "repaired version\n"
