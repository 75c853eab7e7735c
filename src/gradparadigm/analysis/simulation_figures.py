"""Figures of the simulations (matplotlib, no pyplot state; PNG and PDF, written atomically).

* ``simulation_gd``: mean GD over (μ_neg, μ_pos), one heat-map per loss (the paper's GD figure).
* ``simulation_weight``: the hardest negative's share of W against μ_neg, one line per τ.
* ``simulation_ratio``: R over (θ_neg, θ_pos), one heat-map per loss, colour scale 0-5 as the
  official figure; cells where the positive is farther than the negative or the gate is closed are
  greyed out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gradparadigm.reporting.figures import _note, _panels, save_figure

LOSS_LABELS = {"infonce": "InfoNCE", "arccon": "ArcCon", "mpt": "MPT", "met": "MET", "mat": "MAT"}


def _mesh(frame: pd.DataFrame, y: str, x: str, value: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = frame.pivot(index=y, columns=x, values=value).sort_index().sort_index(axis=1)
    return table.columns.to_numpy(), table.index.to_numpy(), table.to_numpy(dtype=float)


def _angle_axes(ax, xlabel: str, ylabel: str | None) -> None:
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_aspect("auto")


def _loss_panels(frame: pd.DataFrame, title: str, what: str, width: float):
    """One panel per loss of ``frame`` (in order), titled; a note when there is none."""
    losses = list(dict.fromkeys(frame["loss"]))
    fig, axes = _panels(len(losses), width=width, height=3.2)
    fig.suptitle(title, fontsize=10)
    if not losses:
        _note(axes[0], f"No {what} simulation.")
    for ax, loss in zip(axes, losses):
        ax.set_title(LOSS_LABELS.get(loss, loss), fontsize=10)
    return fig, axes, list(zip(axes, losses))


def gd_figure(gd: pd.DataFrame, prefix: str | Path) -> list[Path]:
    fig, axes, panels = _loss_panels(
        gd, "Gradient dissipation: mean GD over batches (positive angle vs negative angle)", "GD", 3.6
    )
    mesh = None
    for k, (ax, loss) in enumerate(panels):
        x, y, z = _mesh(gd[gd["loss"] == loss], "pos_mean_pi", "neg_mean_pi", "gd")
        mesh = ax.pcolormesh(x, y, z, shading="auto", vmin=0, vmax=1, cmap="viridis", rasterized=True)
        ax.plot([x.min(), y.max()], [x.min(), y.max()], color="white", linewidth=0.8, linestyle=":")
        _angle_axes(ax, r"$\mu_\mathrm{neg}$ ($\pi$)", r"$\mu_\mathrm{pos}$ ($\pi$)" if k == 0 else None)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label="mean GD", shrink=0.9)
    return save_figure(fig, prefix)


def weight_figure(weight: pd.DataFrame, prefix: str | Path) -> list[Path]:
    fig, (ax,) = _panels(1, width=5.5, height=3.6)
    if weight.empty:
        _note(ax, "No W simulation.")
    for tau, rows in weight.groupby("tau", sort=False):
        ax.plot(rows["neg_mean_pi"], rows["hardest_share"], label=rf"$\tau$ = {tau:g}", linewidth=1.4)
    ax.set_xlabel(r"$\mu_\mathrm{neg}$ ($\pi$)")
    ax.set_ylabel("hardest negative's share of W")
    ax.set_ylim(0, 1.02)
    ax.set_title("Weight: how much the hardest of 127 negatives dominates (softmax, temperature τ)", fontsize=9)
    ax.grid(alpha=0.3)
    if not weight.empty:
        ax.legend(fontsize=8)
    return save_figure(fig, prefix)


def ratio_figure(ratio: pd.DataFrame, prefix: str | Path) -> list[Path]:
    fig, axes, panels = _loss_panels(
        ratio, "Ratio R (grey: positive farther than the negative, or the gate is closed)", "R", 3.8
    )
    mesh = None
    for k, (ax, loss) in enumerate(panels):
        rows = ratio[ratio["loss"] == loss]
        x, y, z = _mesh(rows, "pos_angle_pi", "neg_angle_pi", "ratio")
        _, _, masked = _mesh(rows.assign(masked=rows["masked"].astype(float)), "pos_angle_pi", "neg_angle_pi", "masked")
        mesh = ax.pcolormesh(x, y, np.clip(z, 0, 5), shading="auto", vmin=0, vmax=5, cmap="magma", rasterized=True)
        ax.pcolormesh(
            x,
            y,
            np.ma.masked_where(masked < 0.5, masked),
            shading="auto",
            cmap="Greys",
            vmin=0,
            vmax=1.6,
            alpha=0.75,
            rasterized=True,
        )
        _angle_axes(ax, r"$\theta_\mathrm{neg}$ ($\pi$)", r"$\theta_\mathrm{pos}$ ($\pi$)" if k == 0 else None)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label="R (clipped at 5)", shrink=0.9)
    return save_figure(fig, prefix)
