"""Reading the runs' ``train_log.jsonl`` files (docs/training.md) for the training-curve figures.

Each file's run identity comes from its path (``.../{model}/{variant}/seed~{seed}/train_log.jsonl``);
two files of one run are an error naming both. Every line must be a JSON object with ``type``
``train`` or ``eval`` and an integer ``step``; the quantities read are numbers or null (null, e.g.
``r_effective`` when no anchor qualified, becomes NaN); a quantity a record lacks (the post-step
dynamics in logs written before they existed, or with ``train.dynamics: false``) is skipped. A malformed line raises
:class:`~gradparadigm.errors.DataFormatError` with the file and line number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.results import check_unique

TRAIN_QUANTITIES = (
    "pos_cos",
    "neg_cos_hardest",
    "gap",
    "gd_active_frac",
    "w_hardest_share",
    "r_effective",
    "closer_frac",
    "d_pos",
    "d_hard",
    "d_gap",
)  # the last four: post-step dynamics (newer logs)
EVAL_QUANTITIES = ("stsb_dev_spearman",)
QUANTITIES = {"train": TRAIN_QUANTITIES, "eval": EVAL_QUANTITIES}
QUANTITY_LABELS = {
    "pos_cos": "positive cosine",
    "neg_cos_hardest": "hardest negative cosine",
    "gap": "gap (positive − hardest negative)",
    "gd_active_frac": "GD: share of active anchors",
    "w_hardest_share": "W: hardest negative's share",
    "r_effective": "R: effective ratio",
    "closer_frac": "step: share of positives moved closer",
    "d_pos": "step: change of positive cosine",
    "d_hard": "step: change of hardest negative cosine",
    "d_gap": "step: change of gap",
    "stsb_dev_spearman": "STS-B dev Spearman x100",
}
COLUMNS = ["model", "variant", "seed", "quantity", "step", "value"]


def _value(path: Path, line: int, key: str, value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataFormatError(path, f"{key}: expected a number or null, got {value!r}", line=line)
    return float(value)


def read_train_log(path: Path, quantities: dict[str, tuple[str, ...]] = QUANTITIES) -> list[tuple[str, int, float]]:
    """(quantity, step, value) of every train/eval record of one log; ``quantities``: record type ->
    the quantities read from it (absent ones are skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read training log: {exc}") from None
    points = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, f"not a JSON line: {exc.msg}", line=number) from None
        if not isinstance(record, dict) or record.get("type") not in QUANTITIES:
            raise DataFormatError(path, "expected an object with type 'train' or 'eval'", line=number)
        step = record.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise DataFormatError(path, f"step: expected an integer >= 0, got {step!r}", line=number)
        for quantity in quantities.get(record["type"], ()):
            if quantity in record:
                points.append((quantity, step, _value(path, number, quantity, record[quantity])))
    return points


def load_train_logs(paths: Iterable[str | Path], quantities: dict[str, tuple[str, ...]] = QUANTITIES) -> pd.DataFrame:
    """Every quantity of every log, one row per (run, quantity, step)."""
    rows = []
    for run, path in check_unique(map(Path, paths)).items():
        rows.extend([run.model, run.variant, run.seed, q, step, v] for q, step, v in read_train_log(path, quantities))
    return pd.DataFrame(rows, columns=COLUMNS)


def mean_curves(logs: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (model, variant, quantity, step), ignoring NaN; n = seeds with a value."""
    grouped = logs.groupby(["model", "variant", "quantity", "step"], sort=True)["value"]
    return grouped.agg(mean="mean", n="count").reset_index()
