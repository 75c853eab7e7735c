"""Running the project's real Snakefile from a test (imported by name: tests/ is on sys.path).

One place for the command line that the workflow tests share: the Snakefile of this checkout, run
by this interpreter's Snakemake, in a folder of the test's choosing, with a config given as a dict
(written to ``<workdir>/config.yaml``) or as config files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(
    workdir: Path,
    *args: str,
    config: dict | None = None,
    configfiles: tuple[str | Path, ...] = (),
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    """Run the real Snakefile in ``workdir`` with ``args`` (targets and options); returns the process."""
    files = [str(f) for f in configfiles]
    if config is not None:
        path = Path(workdir) / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        files.append(str(path))
    command = [*SNAKEMAKE, *args, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    if files:
        command += ["--configfile", *files]  # last: --configfile takes every word after it
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def dry_run(workdir: Path, *args: str, **kwargs) -> str:
    """``snakemake -n`` that must succeed; its printed plan (stdout and stderr)."""
    result = snakemake(workdir, "-n", *args, **kwargs)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def job_counts(out: str) -> dict[str, int]:
    """The "Job stats" table of a dry run: rule -> number of jobs (without the total)."""
    stats = out[out.index("Job stats:") :].splitlines()[3:]
    counts = {}
    for line in stats:
        words = line.split()
        if len(words) == 2 and words[1].isdigit() and words[0] != "total":
            counts[words[0]] = int(words[1])
    return counts
