"""Tables of all evaluated encoders in the paper's column order: STS and transfer tasks.

Every result file (``sts.json``, ``transfer.json``) carries its labels (model, variant, seed) in ``meta``, so the tables
do not depend on the folder layout. Seeds of one (model, variant) are averaged; with more than one
seed the Markdown/LaTeX cells read ``mean ± std`` (sample std).

Outputs for a prefix P:
  * ``P.md``  – Markdown (tabulate, pipe format), with the evaluation setting as a caption,
  * ``P.tex`` – LaTeX (booktabs) in a ``table`` environment with the same caption,
  * ``P.csv`` – the summary: one row per (model, variant), mean and std per column, n_seeds,
  * ``P_long.csv`` – every number of every run (model, variant, seed, task, metric, value).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from gradparadigm.errors import DataFormatError
from gradparadigm.fileio import write_text_atomic

STS_COLUMNS = {"STS12": "STS12", "STS13": "STS13", "STS14": "STS14", "STS15": "STS15", "STS16": "STS16",
               "STSBenchmark": "STS-B", "SICKRelatedness": "SICK-R", "avg": "Avg."}
STS_CAPTION = ("STS: Spearman correlation x100 between cosine similarity and gold scores. STS12-16 in "
               "SentEval's 'all' setting (subsets concatenated); STS-B and SICK-R test splits, no trained "
               "regressor; Avg. = mean of the seven.")
TRANSFER_COLUMNS = {"MR": "MR", "CR": "CR", "SUBJ": "SUBJ", "MPQA": "MPQA", "SST2": "SST2", "TREC": "TREC",
                    "MRPC": "MRPC", "avg": "Avg."}
LABELS = ("model", "variant", "seed")


def _load(path: Path) -> dict:
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"cannot read result: {exc}") from None
    missing = [k for k in LABELS if k not in result.get("meta", {})]
    if missing:
        raise DataFormatError(path, f"result lacks meta label(s) {missing}")
    return result


def sts_long(paths: list[str | Path]) -> pd.DataFrame:
    """Every number of every STS result, one row each."""
    rows = []
    for path in map(Path, paths):
        result = _load(path)
        labels = [result["meta"][k] for k in LABELS]
        for task in STS_COLUMNS:
            if task not in result:
                continue
            for metric, value in result[task].items():
                if isinstance(value, (int, float)) and metric != "n":
                    rows.append([*labels, task, metric, float(value)])
            for subset, values in result[task].get("subsets", {}).items():
                for metric in ("pearson", "spearman"):
                    rows.append([*labels, f"{task}/{subset}", metric, float(values[metric])])
    return pd.DataFrame(rows, columns=[*LABELS, "task", "metric", "value"])


def summarise(long: pd.DataFrame, columns: dict[str, str], metric: str) -> pd.DataFrame:
    """One row per (model, variant): mean, std and seed count of ``metric`` for each column."""
    part = long[(long["metric"] == metric) & long["task"].isin(columns)]
    grouped = part.groupby(["model", "variant", "task"], sort=False)["value"]
    stats = grouped.agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, n="count")
    wide = stats.unstack("task")
    order = [c for c in columns if c in set(part["task"])]
    summary = pd.DataFrame(index=wide.index)
    for task in order:
        summary[columns[task]] = wide[("mean", task)]
        summary[columns[task] + " std"] = wide[("std", task)]
    summary["n_seeds"] = wide["n"].max(axis=1).astype(int)
    # rows in the order the runs were given (the config's order), not sorted by name
    first_seen = list(dict.fromkeys(zip(part["model"], part["variant"])))
    return summary.reindex(first_seen).reset_index()


def _cells(summary: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    rows = []
    for _, row in summary.iterrows():
        cells = [row["model"], row["variant"], str(row["n_seeds"])]
        for col in columns:
            mean, std = row[col], row[col + " std"]
            cells.append(f"{mean:.2f} ± {std:.2f}" if row["n_seeds"] > 1 else f"{mean:.2f}")
        rows.append(cells)
    return rows


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def to_latex(headers: list[str], rows: list[list[str]], caption: str, label: str, n_text_columns: int) -> str:
    r"""A booktabs table; ``±`` becomes ``$\pm$``."""
    def line(cells: list[str]) -> str:
        return " & ".join(latex_escape(c).replace("±", r"$\pm$") for c in cells) + r" \\"

    spec = "l" * n_text_columns + "r" * (len(headers) - n_text_columns)
    body = [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
            line(headers), r"\midrule", *(line(r) for r in rows), r"\bottomrule", r"\end{tabular}",
            rf"\caption{{{latex_escape(caption)}}}", rf"\label{{{label}}}", r"\end{table}"]
    return "\n".join(body) + "\n"


def write_tables(summary: pd.DataFrame, long: pd.DataFrame, prefix: str | Path, caption: str,
                 label: str) -> None:
    """Write ``prefix``.md/.tex/.csv and ``prefix``_long.csv (see the module docstring)."""
    prefix = Path(prefix)
    columns = [c for c in summary.columns if c not in ("model", "variant", "n_seeds") and not c.endswith(" std")]
    headers = ["Model", "Variant", "Seeds", *columns]
    rows = _cells(summary, columns)
    markdown = tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True)
    write_text_atomic(prefix.with_suffix(".md"), f"{markdown}\n\n{caption}\n")
    write_text_atomic(prefix.with_suffix(".tex"), to_latex(headers, rows, caption, label, n_text_columns=2))
    write_text_atomic(prefix.with_suffix(".csv"), summary.round(4).to_csv(index=False))
    write_text_atomic(prefix.parent / f"{prefix.name}_long.csv", long.to_csv(index=False))


def write_sts_tables(paths: list[str | Path], prefix: str | Path) -> pd.DataFrame:
    long = sts_long(paths)
    summary = summarise(long, STS_COLUMNS, "spearman")
    write_tables(summary, long, prefix, STS_CAPTION, "tab:sts")
    return summary


def transfer_long(paths: list[str | Path]) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """Every number of every transfer result (acc, devacc, MRPC f1; avg), and the (mode, engine)
    settings the results were computed with."""
    rows, settings = [], set()
    for path in map(Path, paths):
        result = _load(path)
        labels = [result["meta"][k] for k in LABELS]
        settings.add((result.get("mode", "?"), result.get("engine", "?")))
        for task, values in result.get("tasks", {}).items():
            for metric in ("acc", "devacc", "f1"):
                if isinstance(values.get(metric), (int, float)):
                    rows.append([*labels, task, metric, float(values[metric])])
        rows.append([*labels, "avg", "acc", float(result["avg"])])
    return pd.DataFrame(rows, columns=[*LABELS, "task", "metric", "value"]), settings


def transfer_caption(settings: set[tuple[str, str]]) -> str:
    described = "; ".join(f"SentEval '{mode}' mode, {engine} logistic regression" for mode, engine in sorted(settings))
    return ("Transfer tasks: test accuracy x100 of a logistic regression on frozen sentence embeddings "
            f"({described}). MR, CR, SUBJ, MPQA: 10-fold cross-validation with an inner k-fold over the "
            "L2 grid ('fast' mode: 5 folds); SST2: L2 chosen on dev; TREC, MRPC: k-fold on train, official "
            "test set (MRPC F1 in the long CSV). Avg. = mean of the tasks.")


def write_transfer_tables(paths: list[str | Path], prefix: str | Path) -> pd.DataFrame:
    long, settings = transfer_long(paths)
    summary = summarise(long, TRANSFER_COLUMNS, "acc")
    write_tables(summary, long, prefix, transfer_caption(settings), "tab:transfer")
    return summary
