"""Config values and environment variables that reach a shell command are used literally.

Each hostile value holds a single and a double quote, `$(...)`, backticks, spaces, `;` and a newline.
The real Snakefile runs the fetch rules with it (a copy of the data mirror in a hostile folder, a
corpus file there, and file:// URLs to both), and the test checks that the path arrived intact in
the job and that no embedded command ran.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # real Snakemake runs (README: the quick loop skips them)

REPO = Path(__file__).resolve().parents[3]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
HOSTILE = 'it\'s "q" $(touch PWN1) `touch PWN2` a b\nline2 ;touch PWN3'


def _run(workdir: Path, config: dict, targets: list[str], env: dict | None = None):
    (workdir / "study.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run(
        [
            *SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "1",
            *targets,
            "--configfile",
            str(workdir / "study.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def _config(data: dict) -> dict:
    return {
        "models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}},
        "variants": {"v": {"loss": "none"}},
        "data": {"verify_checksums": False, **data},
    }


def _assert_nothing_ran(*folders: Path) -> None:
    for folder in folders:
        leaked = [p for p in folder.rglob("PWN*")]
        assert not leaked, f"an embedded command ran: {leaked}"


@pytest.fixture()
def hostile(tmp_path, downstream) -> dict:
    """A hostile folder holding a copy of the SentEval mirror, its tar and a corpus file."""
    folder = tmp_path / HOSTILE
    folder.mkdir()
    senteval = Path(shutil.copytree(downstream, folder / "downstream"))
    corpus = folder / "corpus.txt"
    corpus.write_text("one sentence\nanother sentence\n")
    archive = folder / "senteval.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(senteval, arcname="downstream")
    work = tmp_path / "work"
    work.mkdir()
    return {"dir": folder, "senteval": senteval, "corpus": corpus, "tar": archive, "work": work}


TARGETS = ["results/data/senteval.sha256.json", "results/data/corpus.sha256.json"]


def _records(work: Path) -> tuple[dict, dict]:
    data = work / "results" / "data"
    return (
        json.loads((data / "senteval.sha256.json").read_text()),
        json.loads((data / "corpus.sha256.json").read_text()),
    )


def test_local_paths_from_the_config_are_used_literally(hostile, tmp_path):
    config = _config(
        {"senteval": {"local_dir": str(hostile["senteval"])}, "corpus": {"local_file": str(hostile["corpus"])}}
    )
    result = _run(hostile["work"], config, TARGETS)
    assert result.returncode == 0, result.stderr
    senteval, corpus = _records(hostile["work"])
    assert senteval["path"] == str(hostile["senteval"]) and corpus["path"] == str(hostile["corpus"])
    _assert_nothing_ran(tmp_path, REPO)


def test_local_paths_from_the_environment_are_used_literally(hostile, tmp_path):
    env = {"GRADPARADIGM_SENTEVAL_DIR": str(hostile["senteval"]), "GRADPARADIGM_CORPUS_FILE": str(hostile["corpus"])}
    result = _run(hostile["work"], _config({}), TARGETS, env=env)
    assert result.returncode == 0, result.stderr
    senteval, corpus = _records(hostile["work"])
    assert senteval["path"] == str(hostile["senteval"]) and corpus["path"] == str(hostile["corpus"])
    _assert_nothing_ran(tmp_path, REPO)


def test_urls_from_the_config_are_used_literally(hostile, tmp_path):
    senteval_url, corpus_url = hostile["tar"].as_uri(), hostile["corpus"].as_uri()
    config = _config({"senteval": {"url": senteval_url}, "corpus": {"url": corpus_url}})
    result = _run(hostile["work"], config, TARGETS)
    assert result.returncode == 0, result.stderr
    senteval, corpus = _records(hostile["work"])
    assert senteval["url"] == senteval_url and corpus["url"] == corpus_url
    _assert_nothing_ran(tmp_path, REPO)

    raw = "file://" + str(hostile["corpus"])  # unencoded, as a user might paste it
    work = tmp_path / "work-raw"
    work.mkdir()
    result = _run(work, _config({"corpus": {"url": raw}}), [TARGETS[1]])
    assert result.returncode == 0, result.stderr
    assert json.loads((work / TARGETS[1]).read_text())["url"] == raw
    _assert_nothing_ran(tmp_path, REPO)


def test_model_source_reaches_the_command_as_one_argument(tmp_path):
    """The dry run's printed commands, parsed as the shell would, carry the source as one word."""
    config = {"models": {"m": {"source": HOSTILE}}, "variants": {"v": {"loss": "none"}}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [
            *SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "-n",
            "-p",
            "results/m/v/seed~0/sts.json",
            "--configfile",
            str(tmp_path / "study.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    start = out.index("python -m gradparadigm eval-sts")
    command = out[start : out.index(" 2> ", start)]
    words = shlex.split(command)
    assert words[words.index("--model") + 1] == HOSTILE
