"""Atomic file writing: outputs appear complete or not at all.

Everything the pipeline writes goes through these helpers: the content is written to a temporary
sibling (same directory, so the final ``os.replace`` is an atomic rename on POSIX) and moved into
place only once complete. A crash mid-write leaves the old file (or nothing), never half a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from gradparadigm.errors import OutputWriteError

log = logging.getLogger(__name__)

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}

# tempfile's random part of mkstemp/mkdtemp names: 8 characters of this alphabet
_RANDOM = r"[a-z0-9_]{8}"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    With ``is_dir=True`` the temporary path is a fresh directory and an existing directory at
    ``path`` is replaced. On any exception the temporary file or directory is removed.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, no permission, ...
        raise OutputWriteError(
            path, f"cannot create its folder {exc.filename or path.parent} ({exc.strerror or exc})"
        ) from exc
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private (0700); outputs are not
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it private (0600); outputs are not
    try:
        yield tmp
        if is_dir:
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                if old.exists():
                    shutil.rmtree(old)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old)
            else:
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        if is_dir:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if isinstance(exc, OSError) and _is_write_failure(exc, tmp, path):
            raise write_error(path, exc) from exc
        raise


def _is_write_failure(exc: OSError, tmp: Path, path: Path) -> bool:
    """Whether ``exc`` (raised inside :func:`atomic_path`) is about writing the output, rather than,
    say, reading an input: a full disk, or an error naming the temporary or the output itself."""
    if exc.errno in _FULL:
        return True
    names = {str(n) for n in (exc.filename, exc.filename2) if n is not None}
    return any(n == str(path) or n == str(tmp) or n.startswith(f"{tmp}{os.sep}") for n in names)


def write_error(path: str | Path, exc: BaseException, what: str = "output", *, atomic: bool = True) -> OutputWriteError:
    """An :class:`OutputWriteError` naming ``path`` (not a temporary) for a failed write.

    ``exc`` is what the writer raised: an ``OSError`` (ENOSPC, EDQUOT, EFBIG, EACCES, ...), torch's
    ``RuntimeError`` (``[enforce fail at inline_container.cc] ... file write failed``), a
    ``SafetensorError``. The message says what probably happened and, with ``atomic`` (the
    caller removed any partial file, as :func:`atomic_path` does), that nothing half-written is left.
    """
    if isinstance(exc, OutputWriteError):
        detail = exc.message
    elif isinstance(exc, OSError) and exc.strerror:
        detail = exc.strerror  # str(exc) would name the temporary file
    else:
        detail = " ".join(str(exc).split()) or type(exc).__name__
    code = getattr(exc, "errno", None)
    if code is None:  # safetensors reports the OS error in its message: "... (os error 28)"
        found = re.search(r"os error (\d+)", detail)
        code = int(found.group(1)) if found else None
    if code in _NOT_WRITABLE:
        hint = "the folder is not writable"
    elif code in _FULL:
        hint = "the disk is full (or a quota or file size limit was reached)"
    else:
        hint = "the disk may be full"
    tail = ". Nothing half-written was left" if atomic else ""
    return OutputWriteError(path, f"could not write the {what} ({detail}); {hint}{tail}")


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stale_temporaries(path: str | Path) -> list[Path]:
    """The temporaries a killed writer of ``path`` can leave next to it.

    These are the names :func:`atomic_path` (``.NAME.XXXXXXXX.tmp`` and ``.NAME.old``) and the
    model export (``.NAME.hf.XXXXXXXX``) create, where ``XXXXXXXX`` is tempfile's random part; the
    pattern is exact, so the temporaries of another output (``.NAME.other.XXXXXXXX.tmp``) do not match.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    name = re.escape(path.name)
    pattern = re.compile(rf"^\.{name}\.(?:{_RANDOM}\.tmp|hf\.{_RANDOM}|old|senteval\.tar)$")
    return sorted(p for p in path.parent.iterdir() if pattern.match(p.name))


def remove_stale_temporaries(*paths: str | Path) -> list[Path]:
    """Remove what a killed earlier job writing ``paths`` left behind (see :func:`stale_temporaries`).

    Call it when a job that owns these outputs starts (Snakemake runs one job per output at a
    time), never from a writer that may run concurrently with another writer of the same path.
    Returns what was removed.
    """
    removed = []
    for path in paths:
        for stale in stale_temporaries(path):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            log.info("removed %s, left by an interrupted earlier run", stale)
            removed.append(stale)
    return removed


def remove_empty_parents(path: str | Path, stop: str | Path) -> None:
    """Remove the empty folders from ``path``'s parent upwards, up to but excluding ``stop``.

    Nothing is removed unless ``stop`` is an ancestor of ``path``; a folder that is not empty (or
    that another job fills meanwhile) ends the walk.
    """
    path, stop = Path(path).absolute(), Path(stop).absolute()
    if stop not in path.parents:
        return
    for parent in path.parents:
        if parent == stop:
            return
        try:
            parent.rmdir()
        except FileNotFoundError:  # already removed (by a sibling job)
            continue
        except OSError:  # not empty
            return
