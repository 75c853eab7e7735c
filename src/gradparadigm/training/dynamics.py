"""Post-step dynamics: how one optimiser step moved the similarities of the batch it was taken on.

The paper conjectures that a larger ratio R brings an anchor closer to its positive (Li, Zhang,
Nie, ACL 2024, §3.2). To see it, the trainer re-scores the step's batch right after the optimiser
step, with the updated encoder and head, and compares the head outputs before (``z0``, ``z1``: the
step's own forward pass) and after (``z0'``, ``z1'``). As in :mod:`.diagnostics`, view 0 gives the
anchors and view 1 the candidates, ``s_ij = e0_i · e1_j`` with L2-normalised rows, and the hardest
negative ``j*_i = argmax_{j≠i} s_ij`` is taken **before** the step:

* ``closer_frac``: share of anchors whose positive similarity rose, ``mean_i 1[s'_ii > s_ii]``;
* ``d_pos``: ``mean_i (s'_ii − s_ii)``;
* ``d_hard``: ``mean_i (s'_ij* − s_ij*)``, the same negative before and after;
* ``d_gap``: change of the logged ``gap``, ``mean_i [(s'_ii − max_{j≠i} s'_ij) − (s_ii − max_{j≠i} s_ij)]``,
  the hardest negative re-taken after the step (with j* held fixed the change would be exactly
  ``d_pos − d_hard``).

Same dropout masks.  Dropout draws from torch's global generators, so the re-score restores the RNG
state(s) captured just before the step's forward pass (:func:`capture_rng`) inside
``torch.random.fork_rng`` (:func:`replayed_rng`): the re-score sees the masks of the step, and the
training stream is left exactly where the step left it, so a run with the dynamics on is
bit-identical to one with them off (tested). Without it the change would be dominated by the
difference between two dropout draws.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from gradparadigm.losses.geometry import hardest_negative

DYNAMICS_KEYS = ("closer_frac", "d_pos", "d_hard", "d_gap")


def cuda_devices(device: torch.device) -> list[int]:
    """The CUDA device index a run on ``device`` draws from (``[]`` on CPU), for ``fork_rng``."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def capture_rng(device: torch.device) -> dict[str, Any]:
    """The RNG states a forward pass on ``device`` draws dropout from (CPU, and the CUDA device)."""
    states: dict[str, Any] = {"cpu": torch.get_rng_state()}
    for index in cuda_devices(device):
        states["cuda"] = (index, torch.cuda.get_rng_state(index))
    return states


@contextmanager
def replayed_rng(states: dict[str, Any]) -> Iterator[None]:
    """Run the block with the RNG states ``states`` (from :func:`capture_rng`); every generator
    is back where it was afterwards."""
    devices = [states["cuda"][0]] if "cuda" in states else []
    with torch.random.fork_rng(devices=devices):
        torch.set_rng_state(states["cpu"])
        if "cuda" in states:
            torch.cuda.set_rng_state(states["cuda"][1], states["cuda"][0])
        yield


def _similarities(z0: Tensor, z1: Tensor) -> Tensor:
    return F.normalize(z0.detach().float(), dim=-1) @ F.normalize(z1.detach().float(), dim=-1).T


@torch.no_grad()
def step_dynamics(z0: Tensor, z1: Tensor, z0_after: Tensor, z1_after: Tensor) -> dict[str, float]:
    """The quantities above from the views before (``z0``, ``z1``) and after (``z0_after``,
    ``z1_after``) one step, each ``[N, D]`` with rows in the same order."""
    before, after = _similarities(z0, z1), _similarities(z0_after, z1_after)
    hardest_before, index = hardest_negative(before)
    hardest_after, _ = hardest_negative(after)
    d_pos = after.diagonal() - before.diagonal()
    d_hard = after.gather(1, index[:, None]).squeeze(1) - hardest_before
    d_gap = (after.diagonal() - hardest_after) - (before.diagonal() - hardest_before)
    return {
        "closer_frac": (d_pos > 0).float().mean().item(),
        "d_pos": d_pos.mean().item(),
        "d_hard": d_hard.mean().item(),
        "d_gap": d_gap.mean().item(),
    }
