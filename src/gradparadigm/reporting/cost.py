"""What the study cost, per rule, from Snakemake's ``benchmark:`` files (``results/benchmarks/``).

Every computing rule writes one tab-separated benchmark file per job: wall seconds ``s``, peak
memory ``max_rss`` (MiB), ``cpu_time`` (s) and ``mean_load``. The layout is
``<rule>/<model>/<variant>/seed~<seed>.tsv`` for the per-run rules (train, eval_sts,
eval_transfer), ``<rule>/<key>...tsv`` for the others (augment per model and views key,
aggregate_part per part) and ``<rule>.tsv`` for the one-job rules (fetch, prepare, simulate,
aggregate). Given the study's runs, the per-run rules count only those runs' files (so a part's
table counts only its own runs); the other rules count every file present. The table is read from
the files present when the aggregation runs, so it describes the jobs run in this folder; a job
whose output was restored from elsewhere has no benchmark and does not count.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.tables import Table

PER_RUN_RULES = ("train", "eval_sts", "eval_transfer")
RULE_ORDER = (
    "fetch_senteval",
    "fetch_corpus",
    "prepare_sts",
    "prepare_transfer",
    "augment",
    "train",
    "eval_sts",
    "eval_transfer",
    "simulate",
    "encoder_statistics",
    "aggregate",
    "aggregate_part",
    "aggregate_sweep",
)
COLUMNS = ("s", "max_rss", "cpu_time", "mean_load")


def read_benchmark(path: Path) -> dict[str, float]:
    """The last line of one benchmark file (``--benchmark-repeats`` writes one line per repeat)."""
    try:
        frame = pd.read_csv(path, sep="\t")
    except (OSError, ValueError) as exc:
        raise DataFormatError(path, f"not a Snakemake benchmark file ({exc})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if frame.empty or missing:
        raise DataFormatError(path, f"not a Snakemake benchmark file (missing {', '.join(missing) or 'rows'})")
    row = frame.iloc[-1]
    return {c: float(row[c]) if pd.notna(row[c]) and row[c] != "NA" else math.nan for c in COLUMNS}


def benchmark_files(root: Path, runs: Iterable[tuple[str, str, int]] | None = None) -> list[tuple[str, Path]]:
    """``(rule, file)`` for every benchmark file under ``root``; per-run rules only for ``runs``."""
    root = Path(root)
    if not root.is_dir():
        return []
    wanted = None if runs is None else {(str(m), str(v), f"seed~{s}") for m, v, s in runs}
    found = []
    for path in sorted(root.rglob("*.tsv")):
        parts = path.relative_to(root).parts
        rule = parts[0][:-4] if len(parts) == 1 else parts[0]
        if rule in PER_RUN_RULES and wanted is not None:
            if len(parts) != 4 or (parts[1], parts[2], parts[3][:-4]) not in wanted:
                continue
        found.append((rule, path))
    return found


def cost_frame(files: list[tuple[str, Path]]) -> pd.DataFrame:
    """One row per rule: jobs, wall time (total, mean, min, max), CPU time, peak memory."""
    records = [{"rule": rule, **read_benchmark(path)} for rule, path in files]
    if not records:
        return pd.DataFrame(
            columns=[
                "rule",
                "jobs",
                "wall_total_min",
                "wall_mean_s",
                "wall_min_s",
                "wall_max_s",
                "cpu_mean_s",
                "max_rss_mib",
            ]
        )
    frame = pd.DataFrame(records)
    grouped = frame.groupby("rule", sort=False)
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "wall_total_min": grouped["s"].sum() / 60,
            "wall_mean_s": grouped["s"].mean(),
            "wall_min_s": grouped["s"].min(),
            "wall_max_s": grouped["s"].max(),
            "cpu_mean_s": grouped["cpu_time"].mean(),
            "max_rss_mib": grouped["max_rss"].max(),
        }
    ).reset_index()
    order = {rule: i for i, rule in enumerate(RULE_ORDER)}
    return table.sort_values("rule", key=lambda s: s.map(lambda r: order.get(r, len(order)))).reset_index(drop=True)


def _num(value: float, digits: int = 1) -> str:
    return "–" if not math.isfinite(value) else f"{value:,.{digits}f}"


def cost_table(root: Path, runs: Iterable[tuple[str, str, int]] | None = None) -> Table:
    frame = cost_frame(benchmark_files(root, runs))
    rows = [
        [
            r.rule,
            str(int(r.jobs)),
            _num(r.wall_total_min),
            _num(r.wall_mean_s),
            f"{_num(r.wall_min_s)}–{_num(r.wall_max_s)}",
            _num(r.cpu_mean_s),
            _num(r.max_rss_mib, 0),
        ]
        for r in frame.itertuples()
    ]
    if rows:
        total = frame["wall_total_min"].sum()
        rows.append(["all rules", str(int(frame["jobs"].sum())), _num(total), "", "", "", ""])
    caption = (
        "Cost per rule, from Snakemake's benchmark files (results/benchmarks/): jobs, total and per-job "
        "wall time, CPU time per job and peak resident memory. Jobs run one after another add up to "
        "the total; jobs run side by side overlap, so the wall clock of the whole run can be shorter."
    )
    return Table(
        ["Rule", "Jobs", "Wall total (min)", "Wall per job (s)", "Range (s)", "CPU per job (s)", "Peak RSS (MiB)"],
        rows,
        frame,
        caption,
        "tab:cost",
        n_text_columns=1,
        note="No benchmark files (results/benchmarks/) yet.",
    )
