"""Loading the evaluation results for the tables, checked so that a table cannot lie.

Every ``sts.json`` / ``transfer.json`` (written by :mod:`gradparadigm.evaluation.sts` /
:mod:`gradparadigm.evaluation.transfer`, with labels in ``meta``) is checked before it counts:

* its run identity comes from its path, ``.../{model}/{variant}/seed~{seed}/{sts,transfer}.json``,
  and must equal the ``meta`` labels;
* no two files may have the same identity;
* every expected task is present, and every score is a finite number in range (Spearman and
  Pearson x100 in [-100, 100]; accuracies and F1 in [0, 100]);
* the average is recomputed from the task scores; the file's own ``avg`` is not used.

Any problem raises :class:`~gradparadigm.errors.DataFormatError` naming the file. The scores come
back as tidy frames: ``headline`` (model, variant, seed, task, value; the headline metric, with
``avg``) and ``long`` (every number, for the ``*_long.csv`` files).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from gradparadigm.data.sts import STS_TASKS, STS_YEAR_TASKS
from gradparadigm.data.transfer_tasks import TRANSFER_TASKS
from gradparadigm.errors import DataFormatError

LABELS = ("model", "variant", "seed")
COLUMNS = [*LABELS, "task", "metric", "value"]
RESULT_NAMES = ("sts.json", "transfer.json", "train_log.jsonl")


@dataclass(frozen=True)
class RunId:
    model: str
    variant: str
    seed: str

    def __str__(self) -> str:
        return f"model {self.model}, variant {self.variant}, seed {self.seed}"


def run_identity(path: str | Path) -> RunId:
    """The run a result file belongs to, from its path ``.../{model}/{variant}/seed~{seed}/<file>``."""
    path = Path(path)
    parts = path.parts
    if len(parts) < 4 or not parts[-2].startswith("seed~") or not parts[-2][5:].isdigit():
        raise DataFormatError(
            path, "not a run's result: expected a path ending in {model}/{variant}/seed~{seed}/" + path.name
        )
    return RunId(parts[-4], parts[-3], parts[-2][5:])


def check_unique(paths: Iterable[Path]) -> dict[RunId, Path]:
    """Identity -> path; two files of one run are an error naming both."""
    seen: dict[RunId, Path] = {}
    for path in paths:
        run = run_identity(path)
        if run in seen:
            raise DataFormatError(path, f"a second result for the same run ({run}): {seen[run]}")
        seen[run] = path
    return seen


def read_json_object(path: Path) -> dict:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"cannot read result: {exc}") from None
    if not isinstance(result, dict):
        raise DataFormatError(path, f"expected a JSON object, got {type(result).__name__}")
    return result


def check_meta(path: Path, result: dict, run: RunId) -> dict:
    meta = result.get("meta")
    if not isinstance(meta, dict):
        raise DataFormatError(path, "result has no 'meta' object with its labels (model, variant, seed)")
    missing = [k for k in LABELS if k not in meta]
    if missing:
        raise DataFormatError(path, f"result lacks meta label(s) {missing}")
    for key in LABELS:
        if str(meta[key]) != getattr(run, key):
            raise DataFormatError(
                path, f"meta {key} {str(meta[key])!r} does not match the path's {key} {getattr(run, key)!r}"
            )
    return meta


def score(path: Path, value: Any, where: str, low: float, high: float) -> float:
    """``value`` as a float, or an error naming the file and the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataFormatError(path, f"{where}: expected a number, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise DataFormatError(path, f"{where}: {value!r} is not a finite number in [{low:g}, {high:g}]")
    return float(value)


def _task(path: Path, result: dict, task: str, container: str = "") -> dict:
    where = f"{container}.{task}" if container else task
    source = result.get(container, {}) if container else result
    if not isinstance(source, dict) or task not in source:
        raise DataFormatError(path, f"expected task {task} is missing")
    values = source[task]
    if not isinstance(values, dict):
        raise DataFormatError(path, f"{where}: expected an object of scores, got {values!r}")
    return values


@dataclass
class Scores:
    """Checked results: the headline metric per task (plus the recomputed ``avg``) and every number."""

    headline: pd.DataFrame
    long: pd.DataFrame
    paths: dict[RunId, Path]
    settings: set[tuple[str, str]]
    meta: dict[RunId, dict]


def _frame(rows: list[list]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def load_sts(paths: Iterable[str | Path], tasks: Iterable[str] = STS_TASKS) -> Scores:
    """Checked STS results; headline = Spearman x100 (STS12-16 in the 'all' setting)."""
    tasks = list(tasks)
    files = check_unique(map(Path, paths))
    headline, long, metas = [], [], {}
    for run, path in files.items():
        result = read_json_object(path)
        metas[run] = check_meta(path, result, run)
        labels = [run.model, run.variant, run.seed]
        spearmans = []
        for task in tasks:
            values = _task(path, result, task)
            for metric, value in values.items():
                if metric.startswith(("spearman", "pearson")):
                    long.append([*labels, task, metric, score(path, value, f"{task}.{metric}", -100, 100)])
            if "spearman" not in values:
                raise DataFormatError(path, f"{task}: no 'spearman' score")
            spearmans.append(score(path, values["spearman"], f"{task}.spearman", -100, 100))
            headline.append([*labels, task, "spearman", spearmans[-1]])
            subsets = values.get("subsets", {}) if task in STS_YEAR_TASKS else {}
            if not isinstance(subsets, dict):
                raise DataFormatError(path, f"{task}.subsets: expected an object, got {subsets!r}")
            for subset, sub in subsets.items():
                for metric in ("pearson", "spearman"):
                    value = sub.get(metric) if isinstance(sub, dict) else None
                    long.append(
                        [
                            *labels,
                            f"{task}/{subset}",
                            metric,
                            score(path, value, f"{task}.subsets.{subset}.{metric}", -100, 100),
                        ]
                    )
        average = sum(spearmans) / len(spearmans)
        headline.append([*labels, "avg", "spearman", average])
        long.append([*labels, "avg", "spearman", average])
    return Scores(_frame(headline), _frame(long), files, set(), metas)


def load_transfer(paths: Iterable[str | Path], tasks: Iterable[str] = TRANSFER_TASKS) -> Scores:
    """Checked transfer results; headline = test accuracy x100; ``settings`` = the (mode, engine) pairs."""
    tasks = list(tasks)
    files = check_unique(map(Path, paths))
    headline, long, metas, settings = [], [], {}, set()
    for run, path in files.items():
        result = read_json_object(path)
        metas[run] = check_meta(path, result, run)
        labels = [run.model, run.variant, run.seed]
        settings.add((str(result.get("mode", "?")), str(result.get("engine", "?"))))
        accuracies = []
        for task in tasks:
            values = _task(path, result, task, container="tasks")
            if "acc" not in values:
                raise DataFormatError(path, f"tasks.{task}: no 'acc' score")
            for metric in ("acc", "devacc", "f1"):
                if metric in values:
                    value = score(path, values[metric], f"tasks.{task}.{metric}", 0, 100)
                    long.append([*labels, task, metric, value])
            accuracies.append(score(path, values["acc"], f"tasks.{task}.acc", 0, 100))
            headline.append([*labels, task, "acc", accuracies[-1]])
        average = sum(accuracies) / len(accuracies)
        headline.append([*labels, "avg", "acc", average])
        long.append([*labels, "avg", "acc", average])
    return Scores(_frame(headline), _frame(long), files, settings, metas)
