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


class ConfigError(GradParadigmError):
    """A configuration value is invalid; the message names the key."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"config key '{key}': {message}")


class ModelLoadError(GradParadigmError):
    """An encoder could not be loaded (missing path, hub unreachable, offline cache miss)."""
