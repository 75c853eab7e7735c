"""The table of a sweep (config ``sweeps``, :mod:`gradparadigm.sweeps`): one row per swept value.

:func:`describe_sweep` turns the validated config and the study description into what the
``gradparadigm sweep`` command needs (JSON-ready): the sweep's key, its points (value, label,
variant) and the study restricted to them (for the caption). :func:`load_sweep` reads the points'
``sts.json`` (checked as for every table: :func:`~gradparadigm.reporting.results.load_sts`) and
``train_log.jsonl`` (:mod:`~gradparadigm.reporting.train_logs`) into one value per run and
quantity:

* ``sts_avg``: the average STS (Spearman x100, recomputed from the task scores);
* ``stsb_dev``: the best STS-B dev Spearman x100 of the training's evaluations (the checkpoint kept);
* the training diagnostics (``gap``, ``gd_active_frac``, ``w_hardest_share``, ``r_effective`` and,
  when a log has them, ``closer_frac``, ``d_pos``, ``d_hard``, ``d_gap``): the mean of the run's
  last ``window`` logged values (null ones skipped), so one noisy batch does not decide a row;
  for ``r_effective`` their median (:data:`MEDIAN_OVER_WINDOW`).

Cells are mean ± sample std over seeds (:mod:`~gradparadigm.reporting.tables`' style); a
diagnostic no run logged has no column.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from gradparadigm.data.sts import STS_TASKS
from gradparadigm.errors import DataFormatError, GradParadigmError
from gradparadigm.reporting.results import load_sts, run_identity
from gradparadigm.reporting.tables import (
    SEEDS_NOTE,
    STS_SETTING,
    Table,
    fmt_seeds,
    fmt_value,
    join_caption,
    study_setting,
)
from gradparadigm.reporting.train_logs import load_train_logs
from gradparadigm.sweeps import format_value, sweep_points

DIAGNOSTICS = ("gap", "gd_active_frac", "w_hardest_share", "r_effective")
DYNAMICS = ("closer_frac", "d_pos", "d_hard", "d_gap")  # optional: logged by newer trainers
LOG_QUANTITIES = {"train": (*DIAGNOSTICS, *DYNAMICS), "eval": ("stsb_dev_spearman",)}
QUANTITIES = ("sts_avg", "stsb_dev", *DIAGNOSTICS, *DYNAMICS)
HEADERS = {
    "sts_avg": "STS avg",
    "stsb_dev": "STS-B dev",
    "gap": "gap",
    "gd_active_frac": "GD active",
    "w_hardest_share": "W hardest",
    "r_effective": "R eff.",
    "closer_frac": "closer",
    "d_pos": "Δpos ×10³",
    "d_hard": "Δhard ×10³",
    "d_gap": "Δgap ×10³",
}
LABELS = {
    "sts_avg": "average STS (Spearman x100)",
    "stsb_dev": "best STS-B dev (Spearman x100)",
    "gap": "gap: positive − hardest negative cosine",
    "gd_active_frac": "GD: share of active anchors",
    "w_hardest_share": "W: hardest negative's share",
    "r_effective": "R: effective ratio",
    "closer_frac": "share of anchors whose positive got closer",
    "d_pos": "Δ positive cosine after a step",
    "d_hard": "Δ hardest negative cosine after a step",
    "d_gap": "Δ gap after a step",
}
DIGITS = {"sts_avg": 2, "stsb_dev": 2}  # the diagnostics: 3
# One optimiser step moves a cosine by about 1e-4: the table shows the changes in thousandths (the
# CSV keeps the raw values), so three decimals do not round them all to 0.000.
SCALE = {"d_pos": 1e3, "d_hard": 1e3, "d_gap": 1e3}
COLUMNS = ["model", "variant", "seed", "quantity", "value"]


def describe_sweep(config: Mapping[str, Any], study: Mapping[str, Any], sweep: str) -> dict:
    """What ``gradparadigm sweep`` needs of one sweep (JSON-ready)."""
    spec = config["sweeps"][sweep]
    points = [
        {"value": value, "label": format_value(value), "variant": variant}
        for value, variant in sweep_points(config, sweep)
    ]
    names = {p["variant"] for p in points}
    runs = {key: run for key, run in (study.get("runs") or {}).items() if key.split("/", 1)[1] in names}
    models = {m: info for m, info in study["models"].items() if any(k.split("/", 1)[0] == m for k in runs)}
    seeds = sorted(
        {s for p in points for s in (study["variants"][p["variant"]].get("seeds") or study.get("seeds") or [])}
    )
    return {
        "name": sweep,
        "description": spec.get("description"),
        "variant": spec["variant"],
        "param": spec["param"],
        "points": points,
        "study": {"models": models, "runs": runs, "seeds": seeds, "eval": study.get("eval") or {}},
    }


def validate_sweep(sweep: Any, where: str = "--sweep") -> dict:
    """Check the shape of a sweep description given on the command line."""
    if (
        not isinstance(sweep, dict)
        or not isinstance(sweep.get("points"), list)
        or not sweep["points"]
        or not all(isinstance(p, dict) and {"value", "label", "variant"} <= set(p) for p in sweep["points"])
    ):
        raise GradParadigmError(
            f"{where}: expected the output of describe_sweep (an object with name, param "
            "and points, each with value, label and variant)"
        )
    for key in ("name", "param"):
        if not isinstance(sweep.get(key), str):
            raise GradParadigmError(f"{where}: needs a string {key!r}")
    return sweep


# Quantities whose final value is the median, not the mean, of the last logged values: a step where
# almost every gate is closed leaves R measured on anchors that only receive other anchors' terms,
# whose net push is near zero and ratio unbounded (10^7 and more); one such step would decide a mean.
MEDIAN_OVER_WINDOW = frozenset({"r_effective"})


def _final(values: pd.Series, window: int, median: bool = False) -> float:
    finite = values.dropna().iloc[-window:]
    if not len(finite):
        return math.nan
    return float(finite.median() if median else finite.mean())


def load_sweep(
    sweep: Mapping[str, Any], sts: Iterable[str | Path], train_logs: Iterable[str | Path], window: int = 3
) -> pd.DataFrame:
    """One row per (run, quantity): model, variant, seed, quantity, value (see the module docstring).

    Every file must belong to a point of the sweep; a file of another variant is an error naming it."""
    if window < 1:
        raise GradParadigmError(f"window: expected an integer >= 1, got {window}")
    sts, train_logs = list(map(Path, sts)), list(map(Path, train_logs))
    variants = {p["variant"] for p in sweep["points"]}
    for path in [*sts, *train_logs]:
        if run_identity(path).variant not in variants:
            raise DataFormatError(
                path,
                f"variant {run_identity(path).variant!r} is not a point of sweep "
                f"{sweep['name']!r} ({', '.join(sorted(variants))})",
            )
    tasks = (sweep.get("study") or {}).get("eval", {}).get("sts_tasks") or STS_TASKS
    headline = load_sts(sts, tasks).headline
    averages = headline[headline["task"] == "avg"]
    rows = [[r.model, r.variant, r.seed, "sts_avg", r.value] for r in averages.itertuples()]
    logs = load_train_logs(train_logs, LOG_QUANTITIES)
    for (model, variant, seed, quantity), group in logs.groupby(["model", "variant", "seed", "quantity"], sort=False):
        values = group.sort_values("step", kind="stable")["value"]
        if quantity == "stsb_dev_spearman":
            rows.append([model, variant, seed, "stsb_dev", float(values.max()) if values.notna().any() else math.nan])
        else:
            rows.append([model, variant, seed, quantity, _final(values, window, quantity in MEDIAN_OVER_WINDOW)])
    return pd.DataFrame(rows, columns=COLUMNS)


def sweep_stats(values: pd.DataFrame) -> pd.DataFrame:
    """Per (model, variant, quantity): mean, sample std (NaN for one seed) and n over seeds."""
    grouped = values.groupby(["model", "variant", "quantity"], sort=False)["value"]
    return grouped.agg(
        mean="mean", n="count", std=lambda v: float(np.std(v.dropna(), ddof=1)) if v.notna().sum() > 1 else math.nan
    )


def present_quantities(stats: pd.DataFrame) -> list[str]:
    """The quantities with at least one value (a diagnostic no log has gets no column)."""
    found = set(stats[stats["n"] > 0].index.get_level_values("quantity")) if len(stats) else set()
    return [q for q in QUANTITIES if q in found or q == "sts_avg"]


def sweep_models(sweep: Mapping[str, Any], stats: pd.DataFrame) -> list[str]:
    present = set(stats.index.get_level_values("model")) if len(stats) else set()
    models = [m for m in (sweep.get("study") or {}).get("models") or {} if m in present]
    return models + sorted(present - set(models))


def sweep_caption(sweep: Mapping[str, Any], window: int) -> str:
    study = sweep.get("study") or {}
    first, last = sweep["points"][0]["variant"], sweep["points"][-1]["variant"]
    what = f"Sweep {sweep['name']}" + (f" ({sweep['description']})" if sweep.get("description") else "")
    return join_caption(
        f"{what}: variant {sweep.get('variant', '?')} with {sweep['param']} set to each value (variants "
        f"{first} … {last}).",
        f"STS avg: {STS_SETTING}; mean of the tasks. STS-B dev: the best score of the training's "
        "evaluations (the checkpoint kept).",
        f"Diagnostics from train_log.jsonl, each the mean of a run's last {window} logged values (R eff.: "
        "their median): gap = "
        "positive − hardest negative cosine; GD active = share of anchors with a gradient; W hardest = "
        "the hardest negative's share of W; R eff. = the measured ratio (about 2R for a symmetrised "
        "loss; the median over anchors); closer = share of anchors whose positive got closer after the "
        "step; Δpos, Δhard, Δgap ×10³ = the change of the positive, hardest negative cosine and their "
        "gap after the step, in thousandths (each shown when logged).",
        SEEDS_NOTE,
        study_setting(study),
    )


def sweep_table(sweep: Mapping[str, Any], values: pd.DataFrame, window: int = 3) -> Table:
    stats = sweep_stats(values)
    quantities = present_quantities(stats)
    leaf = sweep["param"].rsplit(".", 1)[-1]
    headers = ["Model", leaf, "Seeds", *(HEADERS[q] for q in quantities)]
    expected = len((sweep.get("study") or {}).get("seeds") or []) or None
    rows, records = [], []
    empty = {"mean": math.nan, "std": math.nan, "n": 0}
    for model in sweep_models(sweep, stats):
        for point in sweep["points"]:
            key = (model, point["variant"])
            if (*key, "sts_avg") not in stats.index and not any((*key, q) in stats.index for q in quantities):
                continue
            cells = {q: stats.loc[(*key, q)] if (*key, q) in stats.index else empty for q in quantities}
            row_n = int(max(c["n"] for c in cells.values()))
            rows.append(
                [
                    model,
                    point["label"],
                    fmt_seeds(row_n, expected),
                    *(
                        fmt_value(
                            c["mean"] * SCALE.get(q, 1),
                            c["std"] * SCALE.get(q, 1),
                            int(c["n"]),
                            row_n,
                            digits=DIGITS.get(q, 3),
                        )
                        for q, c in cells.items()
                    ),
                ]
            )
            record = {"model": model, "value": point["value"], "variant": point["variant"], "n_seeds": row_n}
            for q, c in cells.items():
                record.update({q: c["mean"], f"{q} std": c["std"], f"{q} n": int(c["n"])})
            records.append(record)
    csv_columns = ["model", "value", "variant", "n_seeds", *(f"{q}{s}" for q in quantities for s in ("", " std", " n"))]
    return Table(
        headers,
        rows,
        pd.DataFrame(records, columns=csv_columns),
        sweep_caption(sweep, window),
        f"tab:sweep-{sweep['name']}",
        note=f"No results of sweep {sweep['name']}.",
    )


def write_sweep(
    sweep: Mapping[str, Any],
    sts: Iterable[str | Path],
    train_logs: Iterable[str | Path],
    out_dir: Path,
    window: int = 3,
) -> list[Path]:
    """``out_dir``/table.{md,tex,csv,html} and ``out_dir``/figure.{png,pdf}; returns the files."""
    from gradparadigm.reporting.sweep_figure import figure_sweep
    from gradparadigm.reporting.tables import write_table

    validate_sweep(sweep)
    values = load_sweep(sweep, sts, train_logs, window)
    out_dir = Path(out_dir)
    write_table(sweep_table(sweep, values, window), out_dir / "table")
    written = [out_dir / f"table{ext}" for ext in (".md", ".tex", ".csv", ".html")]
    return written + figure_sweep(sweep, values, out_dir / "figure")
