"""What deleting part of results/ makes Snakemake rebuild (results/README.md, "Deleting part of
it"): one real run of a tiny study, then a dry run (`snakemake -n`) per deletion.

Snakemake reruns a job only when a target needs it: plain `snakemake` (rule all: the tables and
figures) rebuilds a deleted table or figure, but not a deleted run result, model, data file or
views folder while the tables are up to date; the named targets (evaluate, train_all, data,
part_<name>) or the path itself rebuild those. Caches, checkpoints, logs and benchmarks are not
outputs. A rebuilt upstream file is newer than what was made from it, which is then redone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
RUN = "results/tiny/infonce/seed~0"


def _snakemake(study: Path, *args: str, repo: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(repo / "Snakefile"),
            "--directory",
            str(study),
            "--configfile",
            str(study / "config.yaml"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_bert_dir, shared_data, tiny_simulations) -> Path:
    """The tiny study, built once (all, its part, the data target): an untrained baseline, a
    3-step trained run, one part."""
    folder = tmp_path_factory.mktemp("rebuild")
    corpus = folder / "corpus.txt"
    lines = (shared_data / "wiki" / "wiki1m_for_simcse.head11914.txt").read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(lines[:100]) + "\n", encoding="utf-8")
    study = folder / "study"
    study.mkdir()
    config = {
        "models": {"tiny": {"source": str(tiny_bert_dir)}},
        "variants": {
            "untrained-cls": {"loss": "none"},
            "infonce": {"loss": "infonce", "train": {"batch_size": 8, "max_steps": 3, "eval_steps": 3}},
        },
        "parts": {"main": {"variants": ["infonce"]}},
        "data": {"senteval": {"local_dir": str(shared_data / "downstream")}, "corpus": {"local_file": str(corpus)}},
        "eval": {"sts_tasks": ["STSBenchmark"], "transfer_tasks": [], "max_length": 32},
        "simulations": tiny_simulations,
    }
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    built = _snakemake(study, "--cores", "2", "all", "part_main", "data")
    assert built.returncode == 0, built.stderr[-4000:]
    return study


def _planned(study: Path, *targets: str, repo: Path = REPO) -> set[str]:
    """The rules a dry run would run (empty: nothing to be done)."""
    plan = _snakemake(study, "-n", *targets, repo=repo)
    assert plan.returncode == 0, plan.stderr[-4000:]
    if "Nothing to be done" in plan.stdout:
        return set()
    stats = plan.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return set(re.findall(r"^(\w+)\s+\d+\s*$", stats, re.M))


def _views(study: Path) -> str:
    (views,) = (study / "results" / "views" / "tiny").iterdir()
    return str(views.relative_to(study))


# (what is deleted, {target: rules a dry run plans}); "" is plain `snakemake`, a "{views}" is
# filled in (the views key is a hash)
CASES = {
    "table": (["results/tables/sts.csv"], {"": {"aggregate", "all"}}),
    "figure": (["results/figures/ablation.png"], {"": {"aggregate", "all"}}),
    "simulation": (
        ["results/simulations/gd.csv"],
        {"": {"simulate", "all"}, "simulations": {"simulate", "simulations"}},
    ),
    "sts.json": (
        [f"{RUN}/sts.json"],
        {
            "": {"eval_sts", "aggregate", "all"},
            "evaluate": {"eval_sts", "evaluate"},
            "part_main": {"eval_sts", "aggregate_part", "part_main"},
        },
    ),
    "model": ([f"{RUN}/model"], {"": set(), "evaluate": set(), "train_all": {"train", "train_all"}}),
    "hparams.json": ([f"{RUN}/hparams.json"], {"": set(), "train_all": set(), f"{RUN}/hparams.json": {"train"}}),
    "data": (["results/data/sts.parquet"], {"": set(), "data": {"prepare_sts", "data"}}),
    "views": (["{views}"], {"": set(), "train_all": set(), "{views}": {"augment"}}),
    "part": (["results/parts/main"], {"": set(), "part_main": {"aggregate_part", "part_main"}}),
    "not outputs": (
        ["results/logs", "results/benchmarks", "results/checkpoints"],
        {"": set(), "train_all": set(), "part_main": set()},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_what_a_deletion_rebuilds(study, case, tmp_path):
    deleted, expected = CASES[case]
    views = _views(study)
    deleted = [path.format(views=views) for path in deleted]
    expected = {target.format(views=views): rules for target, rules in expected.items()}
    moved = []
    try:  # moved aside, not deleted, and put back (same file system: modification times kept)
        for i, path in enumerate(deleted):
            shutil.move(study / path, tmp_path / str(i))
            moved.append(path)
        planned = {target: _planned(study, *filter(None, [target])) for target in expected}
    finally:
        for i, path in enumerate(moved):
            shutil.move(tmp_path / str(i), study / path)
    assert planned == expected


def test_a_rebuilt_input_redoes_what_was_made_from_it(study):
    """A data file rebuilt (`snakemake data` after deleting it) is newer than the models and
    results made from it: the next `snakemake` retrains and re-evaluates every run, even when its
    content is the same (Snakemake compares times; no checksum above --max-checksum-file-size)."""
    table = study / "results" / "data" / "sts.parquet"
    times = table.stat()
    os.utime(table)
    try:
        planned = _planned(study)
    finally:
        os.utime(table, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert planned == {"train", "eval_sts", "aggregate", "all"}
    assert _planned(study) == set()


def _repo_copy(destination: Path, edit: str | None) -> Path:
    """The workflow and library copied (its Snakefile runs its own src/), with a comment appended
    to one library file."""
    for name in ("Snakefile", "environment.yml", "config.yaml"):
        shutil.copy2(REPO / name, destination / name)
    for name in ("workflow", "src"):
        shutil.copytree(REPO / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        with open(destination / "src" / "gradparadigm" / edit, "a", encoding="utf-8") as handle:
            handle.write("\n# an edited comment\n")
    return destination


# (library file edited, rules a plain `snakemake -n` plans): the tiny study trains infonce and
# evaluates it and the untrained baseline on STS (no transfer tasks)
TRIGGERS = {
    "nothing": (None, set()),
    "another loss": ("losses/mhe.py", set()),
    "the run's loss": ("losses/infonce.py", {"train", "eval_sts", "aggregate", "all"}),
    "a loss it builds on": ("losses/components.py", {"train", "eval_sts", "aggregate", "all"}),
    "the trainer": ("training/trainer.py", {"train", "eval_sts", "aggregate", "all"}),
    "the STS evaluator": ("evaluation/sts.py", {"train", "eval_sts", "aggregate", "all"}),
    "the transfer evaluator": ("evaluation/transfer.py", set()),
    "the tables": ("reporting/tables.py", set()),
}


@pytest.mark.parametrize("case", TRIGGERS)
def test_what_a_code_change_reruns(study, case, tmp_path):
    """Rerun triggers follow what shapes an output: the run's own loss (not every loss), the
    trainer, the evaluators (every encoder re-evaluated, the untrained baseline too)."""
    edit, expected = TRIGGERS[case]
    copy = _repo_copy(tmp_path, edit)
    assert _planned(study, repo=copy) == expected
    if case == "the STS evaluator":  # the untrained baseline is re-evaluated too
        assert _planned(study, "results/tiny/untrained-cls/seed~0/sts.json", repo=copy) == {"eval_sts"}
