"""Resumable training checkpoints, kept outside the rule's declared outputs.

Snakemake deletes a job's declared outputs before it runs, so the checkpoint lives in its own
folder (``results/checkpoints/{model}/{variant}/seed~{seed}/``) and survives a killed job. It holds:

* ``state.pt``: model (encoder and head), optimiser and scheduler state, every RNG state (Python,
  NumPy, torch CPU and CUDA), the step, the best STS-B dev score and its step, the byte length of
  the live log at that step, and a compatibility key (settings + digest of the training code);
* ``best-step<N>.safetensors``: the encoder weights of the best evaluation so far;
* ``train_log.jsonl``: the live log (the trainer appends to it as it goes; on resume it is cut
  back to the checkpoint's step, so records are never duplicated);
* ``checkpoint.json``: a small human-readable summary of ``state.pt``.

Files are replaced atomically, in an order that keeps the folder consistent at every instant:
the best weights are written before the state that names them, and old best files are removed
after. A checkpoint whose compatibility key differs from the current run (changed
hyperparameters or code) is discarded, not resumed.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradparadigm.errors import OutputWriteError
from gradparadigm.fileio import atomic_path, remove_empty_parents, write_error, write_json_atomic

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
SUMMARY_FILE = "checkpoint.json"
LIVE_LOG = "train_log.jsonl"
FORMAT = 1
# The folder under which the workflow keeps checkpoints (results/checkpoints/{model}/{variant}/seed~{seed}):
# a finished run removes its checkpoint and the folders it leaves empty, up to this one.
CHECKPOINT_ROOT = "checkpoints"


def rng_states() -> dict[str, Any]:
    """Every RNG state training touches, as tensors and plain Python values (``weights_only`` safe)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    python = states["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


@dataclass
class Progress:
    """Where a run stands: what a checkpoint restores besides the tensors."""

    step: int = 0
    best_score: float | None = None
    best_step: int | None = None
    best_weights: dict[str, torch.Tensor] | None = None
    train_seconds: float = 0.0
    resumed_from: list[int] = field(default_factory=list)


class Checkpointer:
    def __init__(self, directory: str | Path, compat: str):
        self.dir = Path(directory)
        self.compat = compat
        self._saved_best_step: int | None = None

    @property
    def live_log(self) -> Path:
        return self.dir / LIVE_LOG

    def _best_file(self, step: int) -> Path:
        return self.dir / f"best-step{step}.safetensors"

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self) -> None:
        """After a successful run: remove the checkpoint and the folders above it that it leaves
        empty, up to the nearest ``checkpoints`` folder (kept). Without such an ancestor only the
        checkpoint folder itself goes."""
        self.discard()
        root = next((p for p in self.dir.absolute().parents if p.name == CHECKPOINT_ROOT), None)
        if root is not None:
            remove_empty_parents(self.dir, root)

    def save(self, progress: Progress, model: torch.nn.Module, optimizer, scheduler) -> None:
        """Write the checkpoint of ``progress``.

        A failed write (disk full: an ``OSError``, or torch's ``RuntimeError: [enforce fail at
        inline_container.cc:...] ... file write failed``) raises :class:`OutputWriteError` naming
        the file, after removing what this call wrote, so the previous checkpoint stays complete.
        """
        from safetensors import SafetensorError
        from safetensors.torch import save_file

        target, new_best = self.dir, None
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if progress.best_step is not None and progress.best_step != self._saved_best_step:
                target = self._best_file(progress.best_step)
                with atomic_path(target) as tmp:
                    save_file(progress.best_weights, str(tmp))
                new_best = target
            log_bytes = self.live_log.stat().st_size if self.live_log.exists() else 0
            state = {
                "format": FORMAT,
                "compat": self.compat,
                "step": progress.step,
                "best_score": progress.best_score,
                "best_step": progress.best_step,
                "train_seconds": progress.train_seconds,
                "resumed_from": list(progress.resumed_from),
                "log_bytes": log_bytes,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng_states(),
            }
            target = self.dir / STATE_FILE
            with atomic_path(target) as tmp:
                torch.save(state, tmp)
        except (OSError, RuntimeError, SafetensorError, OutputWriteError) as exc:
            if new_best is not None:  # the state on disk still names the previous best file
                new_best.unlink(missing_ok=True)
            raise write_error(target, exc, what=f"checkpoint of step {progress.step}") from exc
        self._saved_best_step = progress.best_step
        for stale in self.dir.glob("best-step*.safetensors"):
            if progress.best_step is None or stale != self._best_file(progress.best_step):
                stale.unlink(missing_ok=True)
        summary = self.dir / SUMMARY_FILE
        try:
            write_json_atomic(
                summary,
                {
                    "step": progress.step,
                    "best_step": progress.best_step,
                    "best_stsb_dev_spearman": progress.best_score,
                    "compat": self.compat,
                    "log_bytes": log_bytes,
                },
            )
        except (OSError, OutputWriteError) as exc:
            raise write_error(summary, exc, what="checkpoint summary") from exc
        log.info("checkpoint at step %d written to %s", progress.step, self.dir)

    def load(self, model: torch.nn.Module, optimizer, scheduler, device: torch.device) -> Progress | None:
        """Restore the checkpoint into the given objects; None (and a clean folder) if there is none
        or it belongs to different settings."""
        from safetensors.torch import load_file

        path = self.dir / STATE_FILE
        if not path.is_file():
            self._reset_live_log()
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a checkpoint we cannot read is worth a warning, not a failed run
            log.warning("ignoring unreadable checkpoint %s (%s); training from scratch", path, exc)
            state = None
        if state is not None and (state.get("format") != FORMAT or state.get("compat") != self.compat):
            log.warning(
                "checkpoint in %s was made with other settings or code (key %s, now %s); training from scratch",
                self.dir,
                state.get("compat"),
                self.compat,
            )
            state = None
        if state is None:
            self.discard()
            self._reset_live_log()
            return None
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_states(state["rng"])
        best_weights = None
        if state["best_step"] is not None:
            best_weights = load_file(str(self._best_file(state["best_step"])))
        self._saved_best_step = state["best_step"]
        size = self.live_log.stat().st_size if self.live_log.exists() else 0
        if size < state["log_bytes"]:
            log.warning("live log %s is shorter than at the checkpoint; its earlier records are lost", self.live_log)
        with open(self.live_log, "ab") as handle:
            handle.truncate(min(size, state["log_bytes"]))
        log.info(
            "resuming from the checkpoint at step %d (best STS-B dev %s at step %s)",
            state["step"],
            state["best_score"],
            state["best_step"],
        )
        return Progress(
            step=state["step"],
            best_score=state["best_score"],
            best_step=state["best_step"],
            best_weights=best_weights,
            train_seconds=state["train_seconds"],
            resumed_from=[*state["resumed_from"], state["step"]],
        )

    def _reset_live_log(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.live_log.write_bytes(b"")


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (the live log is read while training runs).

    A failed write names the log; a resumed run cuts the log back to its checkpoint's length, so a
    partial line does not survive."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except OSError as exc:
        raise write_error(path, exc, what="training log", atomic=False) from exc
