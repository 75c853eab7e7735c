"""Fetch the evaluation data and the training corpus: download them, or take them from a local folder.

Both paths end in the same place and pass the same checks: every file the shipped manifest knows is
verified by sha256 (a mismatch names the file), the sums of everything else are recorded in a JSON
file next to the data, and the output appears atomically (a failed fetch leaves nothing behind).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from gradparadigm.data.manifest import entries_under, find_entry_for, verify_file, verify_tree
from gradparadigm.errors import ChecksumError, DataFormatError, GradParadigmError
from gradparadigm.fileio import atomic_path, remove_stale_temporaries, sha256_file, write_json_atomic

log = logging.getLogger(__name__)

SENTEVAL_URL = "https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/senteval.tar"
WIKI1M_URL = "https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/wiki1m_for_simcse.txt"

# A file that only SentEval's downstream folder has: used to find that folder inside an archive.
_SENTEVAL_MARKER = Path("STS") / "STSBenchmark" / "sts-test.csv"


class DownloadError(GradParadigmError):
    pass


def download(url: str, dest: Path, *, retries: int = 3, timeout: float = 60.0, backoff: float = 2.0) -> None:
    """Download ``url`` to ``dest`` atomically, retrying transient failures with exponential backoff."""
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with atomic_path(dest) as tmp:
                request = urllib.request.Request(url, headers={"User-Agent": "gradparadigm"})
                with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
                    total = int(response.headers.get("Content-Length") or 0) or None
                    with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name, mininterval=2) as bar:
                        for chunk in iter(lambda: response.read(1 << 20), b""):
                            out.write(chunk)
                            bar.update(len(chunk))
            return
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            last = exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
            if attempt < retries:
                time.sleep(backoff**attempt)
    raise DownloadError(
        f"could not download {url} after {retries} attempts: {last}. Without internet, point the "
        "config at a local copy instead (data.senteval.local_dir / data.corpus.local_file, or the "
        "GRADPARADIGM_SENTEVAL_DIR / GRADPARADIGM_CORPUS_FILE environment variables)."
    )


def _find_senteval_root(folder: Path) -> Path:
    for marker in sorted(folder.rglob(_SENTEVAL_MARKER.name)):
        candidate = marker.parent.parent.parent
        if (candidate / _SENTEVAL_MARKER).is_file():
            return candidate
    raise DataFormatError(folder, f"no SentEval downstream layout found (looked for {_SENTEVAL_MARKER})")


def _verify_senteval(folder: Path, verify: bool, origin: str | None = None) -> dict[str, str]:
    """Verify ``folder`` against the manifest. ``origin`` (a URL) names where a downloaded tree came
    from, so a mismatch is reported as ``STS/…/file (in <url>)`` rather than as a temporary path."""
    try:
        return verify_tree(folder, "downstream/")
    except DataFormatError as exc:
        if origin is not None:
            exc = type(exc)(exc.path.relative_to(folder), f"{exc.message} (in {origin})")
        if verify or not isinstance(exc, ChecksumError):
            raise exc from None
        log.warning("checksum verification disabled; continuing despite: %s", exc)
        return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def fetch_senteval(
    dest: str | Path,
    record: str | Path,
    *,
    url: str = SENTEVAL_URL,
    local_dir: str | Path | None = None,
    verify: bool = True,
) -> dict:
    """Materialise SentEval's ``downstream`` folder at ``dest`` and write the checksum record.

    With ``local_dir`` the folder is verified in place and copied (offline); otherwise
    ``senteval.tar`` is downloaded from ``url``, unpacked and verified. Returns the record.
    """
    dest, record = Path(dest), Path(record)
    remove_stale_temporaries(dest, record)  # e.g. the archive of a killed download
    with atomic_path(dest, is_dir=True) as tmp:
        if local_dir is not None:
            source = Path(local_dir).expanduser().resolve()
            if not (source / _SENTEVAL_MARKER).is_file():
                raise DataFormatError(source, f"not a SentEval downstream folder (missing {_SENTEVAL_MARKER})")
            sums = _verify_senteval(source, verify)
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            provenance = {"source": "local", "path": str(source)}
        else:
            archive = tmp.parent / f".{dest.name}.senteval.tar"
            download(url, archive)
            try:
                unpack = tmp / "_unpack"
                with tarfile.open(archive) as tar:
                    tar.extractall(unpack, filter="data")
                root = _find_senteval_root(unpack)
                for child in root.iterdir():
                    shutil.move(str(child), tmp / child.name)
                shutil.rmtree(unpack)
                provenance = {"source": "download", "url": url, "archive_sha256": sha256_file(archive)}
            finally:
                archive.unlink(missing_ok=True)
            sums = _verify_senteval(tmp, verify, origin=url)
    known = set(entries_under("downstream/"))
    rec = {
        **provenance,
        "verified_against_manifest": verify,
        "files": {rel: {"sha256": digest, "in_manifest": rel in known} for rel, digest in sums.items()},
    }
    write_json_atomic(record, rec)
    n_known = sum(1 for v in rec["files"].values() if v["in_manifest"])
    log.info("SentEval data at %s: %d files, %d verified against the manifest", dest, len(sums), n_known)
    return rec


def _verify_corpus(file: Path, name: str, verify: bool, origin: str | None = None) -> tuple[str, bool]:
    entry = find_entry_for(name)
    if entry is None:
        return sha256_file(file), False
    try:
        return verify_file(file, entry), True
    except ChecksumError as exc:
        if origin is not None:
            exc = ChecksumError(name, f"{exc.message} (in {origin})")
        if verify:
            raise exc from None
        log.warning("checksum verification disabled; continuing despite: %s", exc)
        return sha256_file(file), True


def fetch_corpus(
    dest: str | Path,
    record: str | Path,
    *,
    url: str = WIKI1M_URL,
    local_file: str | Path | None = None,
    verify: bool = True,
) -> dict:
    """Materialise the training corpus (one sentence per line) at ``dest`` and record its sha256.

    A file the manifest knows (matched by name, e.g. the mirrored ``wiki1m_for_simcse.head11914.txt``)
    is verified; the sum of any other corpus is recorded so that a changed input is visible.
    """
    dest, record = Path(dest), Path(record)
    remove_stale_temporaries(dest, record)
    with atomic_path(dest) as tmp:
        if local_file is not None:
            source = Path(local_file).expanduser().resolve()
            if not source.is_file():
                raise DataFormatError(source, "corpus file does not exist")
            digest, in_manifest = _verify_corpus(source, source.name, verify)
            shutil.copyfile(source, tmp)
            provenance = {"source": "local", "path": str(source)}
        else:
            download(url, tmp)
            digest, in_manifest = _verify_corpus(tmp, Path(url).name, verify, origin=url)
            provenance = {"source": "download", "url": url}
        n_lines = sum(1 for _ in open(tmp, "rb"))
    rec = {**provenance, "sha256": digest, "in_manifest": in_manifest, "lines": n_lines}
    write_json_atomic(record, rec)
    log.info("corpus at %s: %d lines, sha256 %s", dest, n_lines, digest)
    return rec


def source_state(path: str | Path | None) -> str:
    """A short digest of a local data source's files (relative path and content): the workflow
    puts it in the fetch rules' params, so repairing or replacing a local file re-runs the copy,
    while a fresh copy or a re-mounted mirror with the same bytes (new mtimes) does not.
    Empty for a download (None) or a path that does not exist (the job reports that)."""
    if path is None:
        return ""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    digest = hashlib.sha256()
    for file in files:
        try:
            content = sha256_file(file)
        except OSError:
            continue
        rel = file.relative_to(root).as_posix() if root.is_dir() else file.name
        digest.update(f"{rel}\0{content}\n".encode())
    return digest.hexdigest()[:16]
