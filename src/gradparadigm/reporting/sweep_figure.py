"""The figure of a sweep: STS avg, best STS-B dev and every logged diagnostic against the swept value.

One panel per quantity (:data:`gradparadigm.reporting.sweeps.QUANTITIES` that have values), one
line per model, the mean over seeds with error bars of the sample std. Numeric values get a numeric
x-axis, logarithmic when they are all positive and span more than a decade; other values (strings,
true/false) are evenly spaced categories in the config's order. A panel whose positive values span
more than two decades gets a logarithmic y-axis (the effective ratio R where nearly every gate is
closed reaches 10^7; on a linear axis the other values would be a flat line).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from matplotlib.figure import Figure

from gradparadigm.reporting.figures import _note, save_figure
from gradparadigm.reporting.sweeps import LABELS, present_quantities, sweep_models, sweep_stats


def x_positions(values: list[Any]) -> tuple[list[float], str]:
    """The x of each value and the axis scale: ``log``, ``linear`` or ``category``."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        return [float(i) for i in range(len(values))], "category"
    if min(values) > 0 and max(values) / min(values) > 10:
        return [float(v) for v in values], "log"
    return [float(v) for v in values], "linear"


def y_scale(heights: list[float]) -> str:
    """``log`` for positive values that span more than two decades (R where nearly every gate is
    closed), else ``linear``."""
    return "log" if heights and min(heights) > 0 and max(heights) / min(heights) > 100 else "linear"


def figure_sweep(sweep: Mapping[str, Any], values: pd.DataFrame, prefix: str | Path) -> list[Path]:
    stats = sweep_stats(values)
    quantities = present_quantities(stats)
    columns = min(4, len(quantities))
    rows = math.ceil(len(quantities) / columns)
    fig = Figure(figsize=(4.2 * columns, 3.4 * rows), layout="constrained")
    axes = list(fig.subplots(rows, columns, squeeze=False).flat)
    title = f"Sweep {sweep['name']}: {sweep['param']}"
    fig.suptitle(title + (f" ({sweep['description']})" if sweep.get("description") else ""), fontsize=11)
    points = sweep["points"]
    xs, scale = x_positions([p["value"] for p in points])
    models = sweep_models(sweep, stats)
    for ax, quantity in zip(axes, quantities):
        ax.set_title(LABELS[quantity], fontsize=9)
        drawn, heights = False, []
        for i, model in enumerate(models):
            line = [
                (x, stats.loc[(model, p["variant"], quantity)])
                for x, p in zip(xs, points)
                if (model, p["variant"], quantity) in stats.index
            ]
            line = [(x, s) for x, s in line if s["n"] and math.isfinite(s["mean"])]
            if not line:
                continue
            errors = [s["std"] if s["n"] > 1 and math.isfinite(s["std"]) else 0.0 for _, s in line]
            ax.errorbar(
                [x for x, _ in line],
                [s["mean"] for _, s in line],
                yerr=errors,
                color=f"C{i % 10}",
                marker="o",
                markersize=4,
                capsize=3,
                linewidth=1.2,
                label=model,
            )
            drawn = True
            heights.extend(s["mean"] for _, s in line)
        if not drawn:
            _note(ax, "no values")
            continue
        if scale == "log":
            ax.set_xscale("log")
        ax.set_yscale(y_scale(heights))
        if scale == "category":
            ax.set_xticks(xs, [p["label"] for p in points], fontsize=8)
        else:
            ax.set_xticks(xs, [p["label"] for p in points], fontsize=7)
            ax.minorticks_off()
        ax.set_xlabel(sweep["param"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(quantities) :]:
        ax.axis("off")
    if models and len(quantities):
        axes[0].legend(fontsize=7, title="model", title_fontsize=7)
    if not len(values):
        _note(axes[0], f"No results of sweep {sweep['name']}.")
    return save_figure(fig, prefix)
