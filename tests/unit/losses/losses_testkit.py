"""Shared helpers of the loss tests: batches, gradients on the sphere, margins that split gates."""

from __future__ import annotations

import math

import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gradparadigm.losses.geometry import hardest_negative, normalize_pair, tangent_project

# Modest and reproducible: the whole loss suite must stay well under a minute on 2 cores.
PROPERTY = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
NONCONTRASTIVE = ("mhe", "mhs", "barlow_twins", "vicreg")
SWITCH_COMBOS = [
    {"gd": gd, "weight": weight, "ratio": ratio}
    for gd in (False, True)
    for weight in (False, True)
    for ratio in (False, True)
]


def make_views(seed: int, n: int, d: int, noise: float = 0.5, dtype=torch.float64):
    """Two correlated views (like dropout views) with random row norms, not normalised."""
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n, d, generator=gen, dtype=dtype)
    z1 = z0 + noise * torch.randn(n, d, generator=gen, dtype=dtype)
    z0 = z0 * (0.5 + torch.rand(n, 1, generator=gen, dtype=dtype))
    z1 = z1 * (0.5 + torch.rand(n, 1, generator=gen, dtype=dtype))
    return z0, z1


def unit_views(seed: int, n: int, d: int, noise: float = 0.5):
    return normalize_pair(*make_views(seed, n, d, noise))


def sphere_grad(fn, e0: torch.Tensor, e1: torch.Tensor) -> torch.Tensor:
    """Autograd gradient of ``fn(e0, e1)`` w.r.t. ``e0``, projected on the sphere's tangent."""
    e0 = e0.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(e0, e1.detach()), e0)
    return tangent_project(grad, e0.detach())


def raw_grads(fn, z0: torch.Tensor, z1: torch.Tensor):
    """Gradients of ``fn(z0, z1)`` w.r.t. both raw (unnormalised) views."""
    z0 = z0.detach().clone().requires_grad_(True)
    z1 = z1.detach().clone().requires_grad_(True)
    return torch.autograd.grad(fn(z0, z1), (z0, z1))


def splitting_margin(gaps: torch.Tensor) -> float | None:
    """A margin ``m`` with ``gaps < m`` true for some rows and false for the others.

    Splits between two consecutive distinct gap values, as close to the median as possible
    (mutual nearest neighbours share a gap, so ties are common).  None if all gaps are equal.
    """
    ordered = gaps.sort().values
    splits = [k for k in range(1, len(ordered)) if ordered[k] - ordered[k - 1] > 1e-9]
    if not splits:
        return None
    k = min(splits, key=lambda k: abs(k - len(ordered) / 2))
    return float((ordered[k - 1] + ordered[k]) / 2)


def cosine_gaps(sim: torch.Tensor) -> torch.Tensor:
    """``s_ii − max_{j≠i} s_ij``: the positive's lead (MPT and sg gates)."""
    return sim.diagonal() - hardest_negative(sim)[0]


def same_view_gaps(e: torch.Tensor) -> torch.Tensor:
    """``1 − max_{j≠i} e_i·e_j``: the non-contrastive gate's quantity."""
    return 1.0 - hardest_negative(e @ e.T)[0]


def margin_gaps(name: str, sim: torch.Tensor) -> torch.Tensor:
    """Gate quantity of the margin losses, from their definitions (method.md §2 table): the gate
    is open while it is below m.  MPT: s_ii − s_ij*; MET: d_ij* − d_ii; MAT: (θ_ij* − θ_ii)/π."""
    s_hard = hardest_negative(sim)[0]
    if name == "mpt":
        return sim.diagonal() - s_hard
    if name == "met":
        return torch.sqrt(2 - 2 * s_hard) - torch.sqrt(2 - 2 * sim.diagonal())
    return (torch.arccos(s_hard) - torch.arccos(sim.diagonal())) / math.pi
