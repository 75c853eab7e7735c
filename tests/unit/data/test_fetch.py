"""Fetching data: the local-mirror path, the download path (against a local HTTP server), the
sha256 manifest, and that a failure leaves nothing half-written."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from gradparadigm.data import fetch as fetch_module
from gradparadigm.data.fetch import DownloadError, fetch_corpus, fetch_senteval
from gradparadigm.data.manifest import entries_under, load_manifest
from gradparadigm.errors import ChecksumError, DataFormatError

WIKI_NAME = "wiki1m_for_simcse.head11914.txt"


def test_manifest_lists_every_mirror_file(shared_data):
    manifest = load_manifest()
    assert len(manifest) == 87
    on_disk = {
        p.relative_to(shared_data).as_posix() for p in shared_data.rglob("*") if p.is_file() and p.name != "README.md"
    }
    assert on_disk == set(manifest)


def test_local_fetch_verifies_and_records(downstream, tmp_path):
    record = fetch_senteval(tmp_path / "senteval", tmp_path / "record.json", local_dir=downstream)
    files = record["files"]
    assert len(files) == len(entries_under("downstream/")) == 81
    assert all(entry["in_manifest"] for entry in files.values())
    assert (tmp_path / "senteval" / "STS" / "STSBenchmark" / "sts-test.csv").is_file()
    assert json.loads((tmp_path / "record.json").read_text()) == record


@pytest.fixture()
def corrupt_copy(downstream, tmp_path) -> Path:
    copy = tmp_path / "mirror"
    shutil.copytree(downstream, copy)
    target = copy / "STS" / "STS15-en-test" / "STS.gs.images.txt"
    target.write_bytes(target.read_bytes() + b"3.2\n")  # one extra score: a different file
    return copy


def test_checksum_mismatch_names_the_file_and_leaves_nothing(corrupt_copy, tmp_path):
    out = tmp_path / "out" / "senteval"
    with pytest.raises(ChecksumError, match=r"STS15-en-test/STS\.gs\.images\.txt: sha256 mismatch"):
        fetch_senteval(out, tmp_path / "out" / "record.json", local_dir=corrupt_copy)
    assert not out.exists() and not (tmp_path / "out" / "record.json").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # no temporary left behind


def test_verification_can_be_relaxed_but_is_recorded(corrupt_copy, tmp_path):
    record = fetch_senteval(tmp_path / "s", tmp_path / "r.json", local_dir=corrupt_copy, verify=False)
    assert record["verified_against_manifest"] is False
    assert (tmp_path / "s" / "STS" / "STS15-en-test" / "STS.gs.images.txt").is_file()


def test_missing_file_and_wrong_folder(downstream, tmp_path):
    copy = tmp_path / "mirror"
    shutil.copytree(downstream, copy)
    (copy / "TREC" / "TREC_10.label").unlink()
    with pytest.raises(DataFormatError, match=r"TREC/TREC_10\.label: missing"):
        fetch_senteval(tmp_path / "s", tmp_path / "r.json", local_dir=copy)
    with pytest.raises(DataFormatError, match="not a SentEval downstream folder"):
        fetch_senteval(tmp_path / "s", tmp_path / "r.json", local_dir=tmp_path)


class _Server:
    """A loopback HTTP server over a folder; ``fail_first`` requests answer 503 first."""

    def __init__(self, root: Path, fail_first: int = 0):
        self.failures_left = fail_first
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if outer.failures_left > 0:
                    outer.failures_left -= 1
                    self.send_error(503, "try again")
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def no_backoff(monkeypatch):
    monkeypatch.setattr(fetch_module.time, "sleep", lambda seconds: None)


def test_download_unpacks_senteval_tar_and_retries(downstream, tmp_path, no_backoff):
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "senteval.tar", "w") as tar:  # SimCSE's tar holds a downstream/ folder
        tar.add(downstream, arcname="SentEval/data/downstream")
    with _Server(served, fail_first=1) as base:
        record = fetch_senteval(tmp_path / "s", tmp_path / "r.json", url=f"{base}/senteval.tar")
    assert record["source"] == "download" and len(record["archive_sha256"]) == 64
    assert all(entry["in_manifest"] for entry in record["files"].values())
    assert (tmp_path / "s" / "SICK" / "SICK_test_annotated.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "s", "served"]  # archive removed


def test_download_of_a_corrupt_archive_names_the_member(corrupt_copy, tmp_path, no_backoff):
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "senteval.tar", "w") as tar:
        tar.add(corrupt_copy, arcname="downstream")
    mismatch = r"^STS/STS15-en-test/STS\.gs\.images\.txt: sha256 mismatch.*\(in http"
    with _Server(served) as base, pytest.raises(ChecksumError, match=mismatch):
        fetch_senteval(tmp_path / "s", tmp_path / "r.json", url=f"{base}/senteval.tar")
    assert not (tmp_path / "s").exists()


def test_download_gives_up_with_advice(tmp_path, no_backoff):
    with _Server(tmp_path, fail_first=10) as base, pytest.raises(DownloadError, match="after 3 attempts.*local_dir"):
        fetch_corpus(tmp_path / "c.txt", tmp_path / "r.json", url=f"{base}/wiki1m_for_simcse.txt")
    assert not (tmp_path / "c.txt").exists()


def test_corpus_known_file_is_verified_unknown_is_recorded(shared_data, tmp_path, no_backoff):
    source = shared_data / "wiki" / WIKI_NAME
    record = fetch_corpus(tmp_path / "corpus.txt", tmp_path / "r.json", local_file=source)
    assert record["in_manifest"] and record["lines"] == 11914
    served = tmp_path / "served"
    served.mkdir()
    (served / "wiki1m_for_simcse.txt").write_text("one sentence .\nanother one .\n")
    with _Server(served) as base:
        record = fetch_corpus(tmp_path / "full.txt", tmp_path / "r2.json", url=f"{base}/wiki1m_for_simcse.txt")
    assert record == {
        "source": "download",
        "url": f"{base}/wiki1m_for_simcse.txt",
        "sha256": record["sha256"],
        "in_manifest": False,
        "lines": 2,
    }
    bad = tmp_path / WIKI_NAME
    bad.write_text("tampered\n")
    with pytest.raises(ChecksumError, match=WIKI_NAME):
        fetch_corpus(tmp_path / "c2.txt", tmp_path / "r3.json", local_file=bad)


def test_source_state_follows_content_not_mtimes(tmp_path):
    """The fetch rules' rerun trigger: a copy with new mtimes (a re-mounted mirror, `cp` without
    -p) keeps the state; changed bytes or a renamed file change it; a download has none."""
    import os

    from gradparadigm.data.fetch import source_state

    folder = tmp_path / "downstream"
    (folder / "STS").mkdir(parents=True)
    (folder / "STS" / "a.txt").write_text("one\n")
    (folder / "b.txt").write_text("two\n")
    state = source_state(folder)
    assert len(state) == 16 and source_state(None) == ""

    os.utime(folder / "b.txt", ns=(1, 1))
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, copy_function=shutil.copyfile)  # new mtimes
    assert source_state(folder) == state == source_state(copy)

    (copy / "b.txt").write_text("two!\n")
    assert source_state(copy) != state
    (copy / "b.txt").write_text("two\n")
    (copy / "b.txt").rename(copy / "c.txt")
    assert source_state(copy) != state
    assert source_state(folder / "b.txt") != source_state(copy / "c.txt")  # the name counts
