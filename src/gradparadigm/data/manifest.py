"""The sha256 manifest the project ships for every data file whose sum is known.

The manifest (``manifest.tsv`` beside this module) lists paths relative to a *data root* laid out
like the project's offline mirror: ``downstream/…`` is SentEval's ``data/downstream`` folder (the
content of SimCSE's ``senteval.tar``), ``wiki/…`` the training corpus. Files the manifest does not
know (for example the full ``wiki1m_for_simcse.txt``) are not rejected: their sums are recorded with
the results instead, so a later run can tell whether the input changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gradparadigm.errors import ChecksumError, DataFormatError
from gradparadigm.fileio import sha256_file


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # relative to the data root, POSIX separators
    size: int
    sha256: str


def load_manifest() -> dict[str, ManifestEntry]:
    """Return the shipped manifest as ``{relative path: entry}``."""
    text = resources.files("gradparadigm.data").joinpath("manifest.tsv").read_text(encoding="utf-8")
    entries: dict[str, ManifestEntry] = {}
    header_seen = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not header_seen:
            header_seen = True  # "path bytes newlines sha256"
            continue
        path, size, _newlines, digest = line.split("\t")
        entries[path] = ManifestEntry(path=path, size=int(size), sha256=digest)
    return entries


def entries_under(prefix: str) -> dict[str, ManifestEntry]:
    """Manifest entries below ``prefix`` (e.g. ``"downstream/"``), keyed by the path *after* it."""
    return {p[len(prefix) :]: e for p, e in load_manifest().items() if p.startswith(prefix)}


def verify_file(path: str | Path, entry: ManifestEntry) -> str:
    """Check ``path`` against ``entry``; return its sha256. Raises with the file's name on mismatch."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, f"missing (expected {entry.path}, {entry.size} bytes)")
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise ChecksumError(
            path,
            f"sha256 mismatch: got {digest}, the manifest expects {entry.sha256} "
            f"({path.stat().st_size} bytes, expected {entry.size}). The file is corrupt, truncated "
            "or a different version; fetch it again.",
        )
    return digest


def verify_tree(root: str | Path, prefix: str = "downstream/") -> dict[str, str]:
    """Verify every manifest file below ``prefix`` inside ``root``; return ``{relative path: sha256}``
    for all files in the tree (known ones verified, unknown ones only summed)."""
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(root, "data folder does not exist or is not a directory")
    known = entries_under(prefix)
    sums: dict[str, str] = {}
    for rel, entry in sorted(known.items()):
        sums[rel] = verify_file(root / rel, entry)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel not in sums:
            sums[rel] = sha256_file(file)
    return sums


def find_entry_for(path: str | Path, prefix: str = "wiki/") -> ManifestEntry | None:
    """The manifest entry for a stand-alone file (matched by its file name below ``prefix``)."""
    name = Path(path).name
    for rel, entry in entries_under(prefix).items():
        if rel == name:
            return entry
    return None
