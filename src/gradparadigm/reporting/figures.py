"""Figures of the study (matplotlib, Agg; PNG and PDF for each, written atomically).

* ``figure1_ori_vs_mod``: average STS of every non-contrastive loss, ori vs mod bars per family,
  one panel per model; error bars = sample std over seeds; contrastive variants as solid and
  untrained baselines as dashed horizontal lines.
* ``ablation``: mod, no GD, no W, no R bars per family, one panel per model.
* ``training_curves_<model>``: the paradigm's diagnostics from the runs' ``train_log.jsonl``
  (positive and hardest-negative cosine, gap, GD/W/R as measured, the post-step dynamics) and the
  STS-B dev score against the step; one line per variant (mean over seeds).

A figure without data still gets written, with a note in place of the plot, so the workflow's
outputs always exist. Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state) and
saved without timestamps, so the same inputs give the same files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from matplotlib.figure import Figure

from gradparadigm.fileio import atomic_path
from gradparadigm.reporting.comparisons import EMPTY, average_stats
from gradparadigm.reporting.results import Scores
from gradparadigm.reporting.study import (
    COMPONENT_LABELS,
    COMPONENTS,
    ablation_sets,
    family_label,
    ori_mod_pairs,
    variant_order,
)
from gradparadigm.reporting.train_logs import EVAL_QUANTITIES, QUANTITY_LABELS, TRAIN_QUANTITIES, mean_curves

FORMATS = ("png", "pdf")
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None, "Producer": None}}
ORI_COLOR, MOD_COLOR = "#9ecae1", "#08519c"
ABLATION_COLORS = {"mod": MOD_COLOR, "gd": "#fdae6b", "weight": "#a1d99b", "ratio": "#bcbddc"}


def save_figure(fig: Figure, prefix: str | Path) -> list[Path]:
    """``prefix``.png and ``prefix``.pdf, each written atomically."""
    prefix = Path(prefix)
    written = []
    for fmt in FORMATS:
        path = prefix.with_name(f"{prefix.name}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=_METADATA[fmt])
        written.append(path)
    return written


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes, color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])


def _panels(n: int, width: float = 5.0, height: float = 3.8) -> tuple[Figure, list]:
    fig = Figure(figsize=(width * max(n, 1), height), layout="constrained")
    axes = fig.subplots(1, max(n, 1), squeeze=False)[0]
    return fig, list(axes)


def _models(scores: Scores, study: Mapping[str, Any]) -> list[str]:
    present = set(scores.headline["model"])
    models = list(study.get("models") or {})
    return [m for m in models if m in present] + sorted(present - set(models))


def _bar(ax, x: float, stats: dict, width: float, color: str, label: str | None) -> None:
    if not stats["n"]:
        return
    err = stats["std"] if stats["n"] > 1 and math.isfinite(stats["std"]) else None
    ax.bar(x, stats["mean"], width, yerr=err, color=color, label=label, capsize=3, edgecolor="0.2", linewidth=0.5)
    ax.annotate(
        f"{stats['mean']:.1f}",
        (x, stats["mean"] + (err or 0)),
        xytext=(0, 2),
        textcoords="offset points",
        ha="center",
        fontsize=7,
    )


def _reference_lines(ax, averages: dict, model: str, study: Mapping[str, Any]) -> None:
    """Contrastive variants (solid) and untrained baselines (dashed) as horizontal lines."""
    palette = ["#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    contrastive = 0
    for variant in variant_order(study):
        info = study["variants"][variant]
        stats = averages.get((model, variant), EMPTY)
        if not stats["n"] or info.get("role") not in ("contrastive", "baseline"):
            continue
        label = f"{info.get('label', variant)}: {stats['mean']:.1f}"
        if info["role"] == "baseline":
            ax.axhline(stats["mean"], color="0.45", linestyle="--", linewidth=1, label=label)
        else:
            ax.axhline(stats["mean"], color=palette[contrastive % len(palette)], linewidth=1.2, label=label)
            contrastive += 1


def _group_labels(groups: list[tuple[str, str | None]]) -> list[str]:
    families = [f for f, _ in groups]
    return [family_label(f) if families.count(f) == 1 else f"{family_label(f)}\n({v})" for f, v in groups]


def _finish_bars(ax, fig_title: str, labels: list[str]) -> None:
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("average STS (Spearman x100)")
    ax.set_title(fig_title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def figure_ori_vs_mod(scores: Scores, study: Mapping[str, Any], prefix: str | Path) -> list[Path]:
    averages = average_stats(scores)
    models = _models(scores, study)
    fig, axes = _panels(len(models))
    fig.suptitle("Average STS: original (ori) vs modified (mod, + GD, W, R) non-contrastive losses", fontsize=11)
    if not models:
        _note(axes[0], "No STS results.")
    for ax, model in zip(axes, models):
        pairs = [
            (f, o, m)
            for f, o, m in ori_mod_pairs(study)
            if averages.get((model, o), EMPTY)["n"] or averages.get((model, m), EMPTY)["n"]
        ]
        if not pairs:
            _note(ax, f"{model}: no ori/mod variant has results.")
            ax.set_title(f"{model} ({study['models'].get(model, {}).get('source') or '?'})", fontsize=10)
            continue
        for i, (family, ori, mod) in enumerate(pairs):
            _bar(ax, i - 0.2, averages.get((model, ori), EMPTY), 0.38, ORI_COLOR, "ori" if i == 0 else None)
            _bar(ax, i + 0.2, averages.get((model, mod), EMPTY), 0.38, MOD_COLOR, "mod" if i == 0 else None)
        _reference_lines(ax, averages, model, study)
        source = (study.get("models") or {}).get(model, {}).get("source")
        _finish_bars(
            ax, f"{model}" + (f" ({source})" if source else ""), _group_labels([(f, m or o) for f, o, m in pairs])
        )
    return save_figure(fig, prefix)


def figure_ablation(scores: Scores, study: Mapping[str, Any], prefix: str | Path) -> list[Path]:
    averages = average_stats(scores)
    models = _models(scores, study)
    fig, axes = _panels(len(models))
    fig.suptitle("Ablations: average STS of mod and of mod without GD, W or R", fontsize=11)
    if not models:
        _note(axes[0], "No STS results.")
    width = 0.2
    for ax, model in zip(axes, models):
        sets = [
            (f, mod, abl)
            for f, mod, abl in ablation_sets(study)
            if averages.get((model, mod), EMPTY)["n"] or any(averages.get((model, v), EMPTY)["n"] for v in abl.values())
        ]
        if not sets:
            _note(ax, f"{model}: no ablation variant has results.")
            continue
        for i, (family, mod, ablations) in enumerate(sets):
            bars = [("mod", mod)] + [(c, ablations.get(c)) for c in COMPONENTS]
            for j, (key, variant) in enumerate(bars):
                label = ("mod" if key == "mod" else f"no {COMPONENT_LABELS[key]}") if i == 0 else None
                _bar(
                    ax,
                    i + (j - 1.5) * width,
                    averages.get((model, variant), EMPTY),
                    width * 0.95,
                    ABLATION_COLORS[key],
                    label,
                )
        source = (study.get("models") or {}).get(model, {}).get("source")
        _finish_bars(
            ax, f"{model}" + (f" ({source})" if source else ""), _group_labels([(f, mod) for f, mod, _ in sets])
        )
    return save_figure(fig, prefix)


def figure_training_curves(logs: pd.DataFrame, study: Mapping[str, Any], model: str, prefix: str | Path) -> list[Path]:
    """One panel per diagnostic, one line per variant (mean over seeds) of ``model``'s runs."""
    quantities = [*TRAIN_QUANTITIES, *EVAL_QUANTITIES]
    rows = math.ceil((len(quantities) + 1) / 4)  # one panel per quantity, one for the legend
    fig = Figure(figsize=(16, 3.5 * rows), layout="constrained")
    axes = list(fig.subplots(rows, 4).flat)
    fig.suptitle(f"Training diagnostics of {model}: mean over seeds per variant", fontsize=11)
    curves = mean_curves(logs[logs["model"] == model]) if len(logs) else pd.DataFrame()
    variants = [v for v in variant_order(study) if len(curves) and v in set(curves["variant"])]
    if len(curves):
        variants += sorted(set(curves["variant"]) - set(variants))
    colors = {v: f"C{i % 10}" for i, v in enumerate(variants)}
    handles = {}
    for ax, quantity in zip(axes, quantities):
        ax.set_title(QUANTITY_LABELS[quantity], fontsize=9)
        part = curves[curves["quantity"] == quantity] if len(curves) else curves
        drawn = False
        for variant in variants:
            # steps where no seed logged a value (null) are skipped: the line joins its neighbours
            line = part[part["variant"] == variant].dropna(subset=["mean"]) if len(part) else part
            if not len(line):
                continue
            label = (study.get("variants") or {}).get(variant, {}).get("label", variant)
            sparse = quantity in EVAL_QUANTITIES or len(line) <= 30
            (handles[variant],) = ax.plot(
                line["step"],
                line["mean"],
                color=colors[variant],
                linewidth=1.2,
                marker="o" if sparse else None,
                markersize=3,
                label=f"{label} [{variant}]" if label != variant else variant,
            )
            drawn = True
        if not drawn:
            _note(ax, "no values logged")
        else:
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    for ax in axes[len(quantities) :]:
        ax.axis("off")
    legend_ax = axes[len(quantities)]
    if handles:
        legend_ax.legend(handles=list(handles.values()), loc="center", fontsize=8, title="variant")
    else:
        legend_ax.text(0.5, 0.5, f"No training logs of {model}.", ha="center", va="center", color="0.3")
    return save_figure(fig, prefix)
