"""Errors that carry the place of the problem (file, line, config key) in their message."""

from __future__ import annotations

from pathlib import Path


class GradParadigmError(Exception):
    """Base class: an error the command line reports as one clear message, without a traceback."""


class DataFormatError(GradParadigmError):
    """A data file is missing, corrupt or malformed.

    The message always starts with ``path`` (and ``:line`` when a line is known), like a compiler
    error, so a user can open the file at the right place.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {message}")


class ChecksumError(DataFormatError):
    """A file's sha256 differs from the one the project's manifest records."""


class OutputWriteError(GradParadigmError):
    """An output could not be written (disk full, quota, permissions).

    The message starts with ``path``, the file or folder that could not be written (never a
    temporary), and says whether anything half-written was left (atomic writes leave nothing).
    """

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


class ConfigError(GradParadigmError):
    """A configuration value is invalid; the message names the key."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"config key '{key}': {message}")


class ModelLoadError(GradParadigmError):
    """An encoder could not be loaded (missing path, hub unreachable, offline cache miss)."""


class DeviceError(ModelLoadError):
    """The requested device (``cuda``, ``cuda:N``) does not exist on this machine."""


class TrainingDivergedError(GradParadigmError):
    """The loss or its gradient became NaN/inf: the run stops, no model is written.

    The message names the step, the loss, what was not finite and a summary of the loss's inputs;
    the trainer adds where the checkpoint of the last good step is.
    """

    def __init__(self, step: int, loss: str, what: str, inputs: str, lr: float | None = None):
        self.step = step
        self.loss = loss
        self.what = what
        self.inputs = inputs
        self.lr = lr
        self.checkpoint: str = ""
        super().__init__(step, loss, what)

    def add_note_checkpoint(self, step: int | None, directory) -> None:
        if step:
            self.checkpoint = (
                f" The checkpoint of step {step} is kept in {directory}; rerunning the same "
                "command resumes from it (and will diverge again unless the settings change, "
                "which discards it)."
            )
        else:
            self.checkpoint = " No checkpoint was written before the failure."

    def __str__(self) -> str:
        lr = f", lr {self.lr:.3g}" if self.lr is not None else ""
        return (
            f"training diverged at step {self.step} (loss {self.loss!r}{lr}): {self.what}. Loss inputs: "
            f"{self.inputs}. No model was written.{self.checkpoint}"
        )


class TrainingInterrupted(GradParadigmError):
    """Training stopped before its last step (a signal, or a test's simulated kill)."""

    def __init__(self, checkpoint_step: int, directory):
        self.checkpoint_step = checkpoint_step
        self.directory = directory
        super().__init__(
            f"training interrupted; the checkpoint of step {checkpoint_step} is in {directory}: "
            "run the same command again to resume"
        )
