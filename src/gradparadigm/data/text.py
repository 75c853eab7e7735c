"""Reading the SentEval text files the way SentEval does, with errors that name file and line."""

from __future__ import annotations

from pathlib import Path

from gradparadigm.errors import DataFormatError


def normalise_sentence(text: str) -> str:
    """SentEval tokenises with ``str.split()``; the SimCSE batcher joins tokens with one space."""
    return " ".join(text.split())


def read_text(path: Path, encoding: str) -> str:
    """The whole file; a missing file or a byte that is not ``encoding`` names the file (and line)."""
    if not path.is_file():
        raise DataFormatError(path, "missing file")
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataFormatError(path, f"not valid {encoding} ({exc.reason})", line=line) from None


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The file's lines as Python's text mode reads them (``for line in f``: universal newlines),
    without their line ends; line ``i`` of the file is element ``i - 1``."""
    text = read_text(path, encoding).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the final newline ends the last line; it does not start a new one
    return lines
