"""Batch statistics the paper's analysis reads (method.md §8), computed while training.

All of them are taken on what the loss sees: the head outputs of the two views, L2-normalised,
view 0 as anchors and view 1 as candidates. They run on detached copies, under ``no_grad`` (the
gradient measurement builds its own small graph on copies), and draw no random numbers, so logging
them never changes the training trajectory.

* ``pos_cos``: mean cosine of a sentence's two views, ``mean_i s_ii``;
* ``neg_cos_mean``: mean cosine over all in-batch negatives ``s_ij, j != i``;
* ``neg_cos_hardest``: mean over anchors of the hardest negative ``max_{j != i} s_ij``;
* ``gap``: ``mean_i (s_ii - max_{j != i} s_ij)``, the margin the GD gates look at;
* ``alignment``: ``mean_i ||e0_i - e1_i||²`` (Wang & Isola, alpha = 2);
* ``uniformity``: ``log mean_{i<j} exp(-2 ||e_i - e_j||²)`` per view, averaged over the two views
  (Wang & Isola, t = 2);
* ``gd_active_frac``, ``w_hardest_share``, ``r_effective``: the paradigm's GD, W and R measured
  from the loss's autograd gradient (:func:`gradparadigm.losses.measure_gradient_components`);
  the last two are ``None`` (JSON null) when no anchor qualifies.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gradparadigm.losses import measure_gradient_components


def _offdiag(n: int, device) -> Tensor:
    return ~torch.eye(n, dtype=torch.bool, device=device)


def _uniformity(e: Tensor) -> float:
    sq = torch.pdist(e, p=2).pow(2)
    return (torch.logsumexp(-2.0 * sq, dim=0) - math.log(sq.numel())).item()


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@torch.no_grad()
def batch_statistics(z0: Tensor, z1: Tensor, loss: nn.Module | None = None) -> dict[str, Any]:
    """The statistics above for the views ``z0``, ``z1`` ``[N, D]`` (any dtype; computed in float32)."""
    e0 = F.normalize(z0.detach().float(), dim=-1)
    e1 = F.normalize(z1.detach().float(), dim=-1)
    sim = e0 @ e1.T
    offdiag = _offdiag(sim.shape[0], sim.device)
    pos = sim.diagonal()
    hardest = sim.masked_fill(~offdiag, float("-inf")).max(dim=1).values
    stats: dict[str, Any] = {
        "pos_cos": pos.mean().item(),
        "neg_cos_mean": sim[offdiag].mean().item(),
        "neg_cos_hardest": hardest.mean().item(),
        "gap": (pos - hardest).mean().item(),
        "alignment": (e0 - e1).pow(2).sum(dim=1).mean().item(),
        "uniformity": (_uniformity(e0) + _uniformity(e1)) / 2,
    }
    if loss is not None:
        measured = measure_gradient_components(loss, z0.detach(), z1.detach())
        stats["gd_active_frac"] = measured["gd_active_frac"]
        stats["w_hardest_share"] = _finite_or_none(measured["w_hardest_share"])
        stats["r_effective"] = _finite_or_none(measured["r_effective"])
    return stats


@torch.no_grad()
def describe_inputs(pooled: Tensor | None, z0: Tensor, z1: Tensor) -> str:
    """A one-line summary of a loss's inputs, for the message of a diverged run."""
    parts = []
    views = {"z0": z0.detach().float(), "z1": z1.detach().float()}
    if pooled is not None:
        views = {"pooled": pooled.detach().float(), **views}
    for name, t in views.items():
        bad_rows = int((~torch.isfinite(t)).any(dim=1).sum())
        norms = t.norm(dim=1)
        finite = norms[torch.isfinite(norms)]
        span = (
            f"norm min/max {finite.min().item():.3g}/{finite.max().item():.3g}" if finite.numel() else "no finite row"
        )
        parts.append(f"{name} {tuple(t.shape)}: {span}, {bad_rows} row(s) with NaN/inf")
    e0, e1 = F.normalize(views["z0"], dim=-1), F.normalize(views["z1"], dim=-1)
    sim = e0 @ e1.T
    finite = sim[torch.isfinite(sim)]
    if finite.numel():
        parts.append(
            f"cosines min/max {finite.min().item():.4f}/{finite.max().item():.4f}, "
            f"positives mean {sim.diagonal().nanmean().item():.4f}"
        )
    else:
        parts.append("no finite cosine")
    return "; ".join(parts)
