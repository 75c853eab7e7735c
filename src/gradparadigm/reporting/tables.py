"""Tables of the study in four formats, from checked results (:mod:`gradparadigm.reporting.results`).

Every table is a :class:`Table` (headers, rows of cells, a CSV frame, a caption naming the setting)
written by :func:`write_table` for a prefix P as:

  * ``P.md``   – Markdown (tabulate, pipe format) with the caption below,
  * ``P.tex``  – LaTeX (booktabs) in a ``table`` environment with the same caption,
  * ``P.csv``  – the numbers: mean, sample std and seed count of every column,
  * ``P.html`` – a small standalone page (what the Snakemake report shows).

A table without applicable rows (e.g. a study without ablations) is still written, with a one-line
note instead of rows (the CSV then has its header only), so the workflow's outputs always exist.

Cells read ``mean ± std`` over seeds (sample std), or ``mean`` for one seed. The ``Seeds`` column
gives the row's seed count, ``n/N`` when fewer than the study's N seeds have a result; a cell with
fewer seeds than its row shows ``(n=k)``. Rows follow the study's model order, then the paper's
variant order (:func:`gradparadigm.reporting.study.variant_order`).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from tabulate import tabulate

from gradparadigm.fileio import write_text_atomic
from gradparadigm.reporting.results import Scores
from gradparadigm.reporting.study import variant_order

STS_COLUMNS = {
    "STS12": "STS12",
    "STS13": "STS13",
    "STS14": "STS14",
    "STS15": "STS15",
    "STS16": "STS16",
    "STSBenchmark": "STS-B",
    "SICKRelatedness": "SICK-R",
    "avg": "Avg.",
}
STS_SETTING = (
    "Spearman correlation x100 between the cosine similarity of the two sentence embeddings "
    "and the gold scores; STS12-16 in SentEval's 'all' setting (subsets concatenated), STS-B "
    "and SICK-R test splits, no trained regressor"
)
STS_CAPTION = f"STS: {STS_SETTING}; Avg. = mean of the tasks, recomputed from the task scores."
TRANSFER_COLUMNS = {
    "MR": "MR",
    "CR": "CR",
    "SUBJ": "SUBJ",
    "MPQA": "MPQA",
    "SST2": "SST2",
    "TREC": "TREC",
    "MRPC": "MRPC",
    "avg": "Avg.",
}
SEEDS_NOTE = (
    "Cells: mean ± sample std over seeds (one seed: the value); Seeds: results per row (n/N: "
    "fewer than the study's N); (n=k): a cell with fewer seeds than its row."
)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    csv: pd.DataFrame
    caption: str
    label: str
    n_text_columns: int = 2
    note: str = ""  # shown instead of rows when there are none
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)  # suffix -> frame (e.g. "_long")


# --- statistics -------------------------------------------------------------------------------


def seed_stats(headline: pd.DataFrame) -> pd.DataFrame:
    """Per (model, variant, task): mean, sample std (NaN for one seed) and n over seeds."""
    grouped = headline.groupby(["model", "variant", "task"], sort=False)["value"]
    stats = grouped.agg(mean="mean", n="count", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else math.nan)
    return stats


def ordered_runs(stats: pd.DataFrame, study: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(model, variant) pairs that have results: study's model order, then the paper's variant order."""
    present = {(m, v) for m, v, _ in stats.index}
    models = list(study.get("models") or {})
    models += sorted({m for m, _ in present} - set(models))
    variants = variant_order(study)
    variants += sorted({v for _, v in present} - set(variants))
    return [(m, v) for m in models for v in variants if (m, v) in present]


def expected_seeds(study: Mapping[str, Any], variant: str) -> int | None:
    """How many seeds a variant should have: 1 for an untrained baseline, else its own seeds
    (config ``variants.<v>.seeds``), else the study's."""
    info = (study.get("variants") or {}).get(variant, {})
    if info.get("role") == "baseline":
        return 1
    seeds = info.get("seeds") or study.get("seeds")
    return len(seeds) if seeds else None


def fmt_value(mean: float, std: float, n: int, row_n: int | None = None, signed: bool = False, digits: int = 2) -> str:
    if n == 0 or not math.isfinite(mean):
        return "–"
    sign = "+" if signed else ""
    text = f"{mean:{sign}.{digits}f}" + (f" ± {std:.{digits}f}" if n > 1 and math.isfinite(std) else "")
    return text + (f" (n={n})" if row_n is not None and n != row_n else "")


def fmt_seeds(n: int, expected: int | None) -> str:
    return f"{n}/{expected}" if expected is not None and n < expected else str(n)


# --- captions ---------------------------------------------------------------------------------


def _values(values: list) -> str:
    return ", ".join(dict.fromkeys(values))


def study_setting(study: Mapping[str, Any]) -> str:
    """One sentence on the backbones and the training of the study's trained runs."""
    models = study.get("models") or {}
    backbones = "; ".join(f"{m} = {info['source']}" if info.get("source") else m for m, info in models.items())
    parts = [f"Backbone{'s' if len(models) > 1 else ''}: {backbones}." if models else ""]
    runs = list((study.get("runs") or {}).values())
    if runs:
        steps = _values([f"{r['steps']} steps" if r.get("steps") else f"{r.get('epochs') or 1} epoch(s)" for r in runs])
        batch = _values([str(r["batch_size"]) for r in runs])
        lr = _values([f"{r['lr']:g}" for r in runs])
        corpus = _values(
            [
                f"the corpus' first {r['max_sentences']} sentences" if r.get("max_sentences") else "the whole corpus"
                for r in runs
            ]
        )
        parts.append(f"Training: {steps}, batch size {batch}, lr {lr}, on {corpus}.")
    return " ".join(p for p in parts if p)


def join_caption(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


# --- the tables -------------------------------------------------------------------------------


def per_variant_table(
    scores: Scores, study: Mapping[str, Any], columns: dict[str, str], caption: str, label: str, metric_name: str
) -> Table:
    """One row per (model, variant) with results: every task column and Avg."""
    stats = seed_stats(scores.headline)
    tasks = [t for t in columns if t in set(scores.headline["task"])]
    headers = ["Model", "Variant", "Seeds", *(columns[t] for t in tasks)]
    rows, records = [], []
    for model, variant in ordered_runs(stats, study):
        cells = [stats.loc[(model, variant, t)] for t in tasks]
        row_n = int(max(c["n"] for c in cells))
        rows.append(
            [
                model,
                variant,
                fmt_seeds(row_n, expected_seeds(study, variant)),
                *(fmt_value(c["mean"], c["std"], int(c["n"]), row_n) for c in cells),
            ]
        )
        record = {"model": model, "variant": variant, "n_seeds": row_n}
        for task, c in zip(tasks, cells):
            record[columns[task]] = c["mean"]
            record[columns[task] + " std"] = c["std"]
            record[columns[task] + " n"] = int(c["n"])
        records.append(record)
    csv_columns = ["model", "variant", "n_seeds"]
    csv_columns += [f"{columns[t]}{s}" for t in tasks for s in ("", " std", " n")]
    return Table(
        headers,
        rows,
        pd.DataFrame(records, columns=csv_columns),
        caption,
        label,
        note=f"No {metric_name} results.",
        extra={"_long": scores.long},
    )


def sts_table(scores: Scores, study: Mapping[str, Any]) -> Table:
    caption = join_caption(STS_CAPTION, SEEDS_NOTE, study_setting(study))
    return per_variant_table(scores, study, STS_COLUMNS, caption, "tab:sts", "STS")


def transfer_caption(settings: set[tuple[str, str]]) -> str:
    described = "; ".join(f"SentEval '{mode}' mode, {engine} logistic regression" for mode, engine in sorted(settings))
    return (
        "Transfer tasks: test accuracy x100 of a logistic regression on frozen sentence embeddings "
        f"({described}). MR, CR, SUBJ, MPQA: 10-fold cross-validation with an inner k-fold over the "
        "L2 grid ('fast' mode: 5 folds); SST2: L2 chosen on dev; TREC, MRPC: k-fold on train, official "
        "test set (MRPC F1 in the long CSV). Avg. = mean of the tasks, recomputed from the task scores."
    )


def transfer_table(scores: Scores, study: Mapping[str, Any]) -> Table:
    caption = join_caption(transfer_caption(scores.settings), SEEDS_NOTE, study_setting(study))
    return per_variant_table(scores, study, TRANSFER_COLUMNS, caption, "tab:transfer", "transfer")


# --- writing ----------------------------------------------------------------------------------

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SYMBOLS = {"±": r"$\pm$", "−": r"$-$", "Δ": r"$\Delta$", "–": "--"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def _latex_cell(text: str) -> str:
    escaped = latex_escape(text)
    for symbol, latex in _LATEX_SYMBOLS.items():
        escaped = escaped.replace(symbol, latex)
    return escaped


def to_latex(
    headers: list[str], rows: list[list[str]], caption: str, label: str, n_text_columns: int, note: str = ""
) -> str:
    r"""A booktabs table; ``±`` becomes ``$\pm$``. Without rows, ``note`` spans the table."""

    def line(cells: list[str]) -> str:
        return " & ".join(_latex_cell(c) for c in cells) + r" \\"

    spec = "l" * n_text_columns + "r" * (len(headers) - n_text_columns)
    body = [line(r) for r in rows] or [rf"\multicolumn{{{len(headers)}}}{{l}}{{{_latex_cell(note)}}} \\"]
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        line(headers),
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{_latex_cell(caption)}}}",
        rf"\label{{{label}}}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def to_markdown(headers: list[str], rows: list[list[str]], caption: str, note: str = "") -> str:
    if not rows:
        return f"{note}\n\n{caption}\n"
    return tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True) + f"\n\n{caption}\n"


def to_html(headers: list[str], rows: list[list[str]], caption: str, title: str, note: str = "") -> str:
    body = (
        tabulate(rows, headers=headers, tablefmt="html", disable_numparse=True)
        if rows
        else f"<p><em>{html.escape(note)}</em></p>"
    )
    style = (
        "body{font-family:sans-serif;font-size:14px} table{border-collapse:collapse} "
        "th,td{padding:3px 8px;border-bottom:1px solid #ccc;text-align:right;white-space:nowrap} "
        "th:nth-child(-n+2),td:nth-child(-n+2){text-align:left} p{max-width:60em}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head>\n<body>\n{body}\n<p>{html.escape(caption)}</p>\n</body></html>\n"
    )


def write_table(table: Table, prefix: str | Path) -> None:
    """Write ``prefix``.md/.tex/.csv/.html (and ``prefix``<suffix>.csv for each extra frame)."""
    prefix = Path(prefix)
    headers, rows, caption, note = table.headers, table.rows, table.caption, table.note
    write_text_atomic(prefix.with_suffix(".md"), to_markdown(headers, rows, caption, note))
    write_text_atomic(
        prefix.with_suffix(".tex"), to_latex(headers, rows, caption, table.label, table.n_text_columns, note)
    )
    write_text_atomic(prefix.with_suffix(".csv"), table.csv.round(4).to_csv(index=False))
    write_text_atomic(prefix.with_suffix(".html"), to_html(headers, rows, caption, prefix.name, note))
    for suffix, frame in table.extra.items():
        write_text_atomic(prefix.parent / f"{prefix.name}{suffix}.csv", frame.to_csv(index=False))
