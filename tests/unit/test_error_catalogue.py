"""Catalogue of bad inputs and faults at the command line.

Every case runs ``gradparadigm <subcommand> ...`` (in-process through :func:`gradparadigm.cli.main`,
which is what ``python -m gradparadigm`` calls; a few run as real subprocesses) and must end the
same way: exit status 1, no traceback, exactly one line on stderr starting with ``error:``, last
(log records also go to stderr, before it), naming the file (and line), flag or config key at
fault, and no output or temporary file left in the output folder. Inputs are tiny (a 2-layer
random BERT, a few dozen sentences), so the module runs in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from gradparadigm import cli

SRC = Path(cli.__file__).resolve().parents[1]
WIKI_NAME = "wiki1m_for_simcse.head11914.txt"
FAST_SETTINGS = {"batch_size": 8, "max_steps": 2, "eval_steps": 2, "log_steps": 1, "checkpoint_steps": 2}


def sentences(n: int) -> list[str]:
    subjects = ["the cat", "a young man", "the committee", "my neighbour", "an old river"]
    verbs = ["watched", "described", "ignored", "painted", "followed", "remembered"]
    objects = ["three small boats .", "a long letter about the war .", "the bright station ."]
    return [f"{s} {v} {o}" for s in subjects for v in verbs for o in objects][:n]


@pytest.fixture(scope="module")
def assets(tmp_path_factory, tiny_bert_dir) -> dict[str, Path]:
    """Good inputs every case starts from: a corpus, its views, an STS table (all tasks, STS-B dev)."""
    from gradparadigm.data.sts import STS_TASKS
    from gradparadigm.data.tables import write_table
    from gradparadigm.training.views import build_views

    root = tmp_path_factory.mktemp("catalogue")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(sentences(40)) + "\n")
    views = root / "views"
    build_views(corpus, str(tiny_bert_dir), views, max_length=32, progress=False)
    sents = sentences(40)
    rows = [
        {
            "task": task,
            "subset": "x",
            "split": split,
            "sentence1": sents[i],
            "sentence2": sents[(i * 7) % 40],
            "score": float(i % 6),
            "line": i + 1,
        }
        for task in STS_TASKS
        for split in (("dev", "test") if task == "STSBenchmark" else ("test",))
        for i in range(12)
    ]
    sts = root / "sts.parquet"
    write_table(pd.DataFrame(rows), sts)
    return {"model": tiny_bert_dir, "corpus": corpus, "views": views, "sts": sts}


@dataclasses.dataclass
class Kit:
    """Paths of one case: good inputs, a scratch folder ``data`` for bad ones, the output folder ``out``."""

    model: Path
    corpus: Path
    views: Path
    sts: Path
    data: Path
    out: Path
    monkeypatch: pytest.MonkeyPatch

    def file(self, name: str, content: bytes | str) -> Path:
        path = self.data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def copy_model(self, name: str) -> Path:
        import shutil

        return Path(shutil.copytree(self.model, self.data / name))

    def eval_sts(self, *extra: str, model: Path | str | None = None, table: Path | None = None) -> list[str]:
        return [
            "eval-sts",
            "--model",
            str(model or self.model),
            "--sts-table",
            str(table or self.sts),
            "--out",
            str(self.out / "sts.json"),
            "--device",
            "cpu",
            *extra,
        ]

    def eval_transfer(self, *extra: str, table: Path | None = None) -> list[str]:
        return [
            "eval-transfer",
            "--model",
            str(self.model),
            "--transfer-table",
            str(table or self.sts),
            "--out",
            str(self.out / "transfer.json"),
            "--device",
            "cpu",
            *extra,
        ]

    def augment(self, *extra: str, corpus: Path | None = None) -> list[str]:
        return [
            "augment",
            "--corpus",
            str(corpus or self.corpus),
            "--model",
            str(self.model),
            "--out",
            str(self.out / "views"),
            *extra,
        ]

    @property
    def checkpoint(self) -> Path:
        return self.out / "checkpoints" / "tiny" / "infonce" / "seed~0"

    def train(
        self,
        *extra: str,
        model: Path | None = None,
        views: Path | None = None,
        settings: dict | None = None,
        loss: str = "infonce",
    ) -> list[str]:
        return [
            "train",
            "--model",
            str(model or self.model),
            "--views",
            str(views or self.views),
            "--sts-table",
            str(self.sts),
            "--loss",
            loss,
            "--settings",
            json.dumps({**FAST_SETTINGS, "device": "cpu", **(settings or {})}),
            "--model-out",
            str(self.out / "model"),
            "--log-out",
            str(self.out / "train_log.jsonl"),
            "--hparams-out",
            str(self.out / "hparams.json"),
            "--checkpoint-dir",
            str(self.checkpoint),
            *extra,
        ]


@pytest.fixture()
def kit(assets, tmp_path, monkeypatch) -> Kit:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    return Kit(**assets, data=tmp_path / "in", out=tmp_path / "out", monkeypatch=monkeypatch)


@pytest.fixture(autouse=True)
def _restore_logging():
    """``cli.main`` points the root logger at the (captured) stderr of the moment; undo that."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: usage errors and --help
        code = exc.code
    return code, capsys.readouterr().err


def error_line(code: int, err: str) -> str:
    """The one ``error:`` line of a failed command, after checking the shape of its stderr."""
    assert code == 1, f"exit status {code}, stderr:\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, err[-3000:]
    assert lines[-1] == errors[0], f"the error line is not the last line:\n{err[-3000:]}"
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# --- the catalogue: name -> case(kit) = (argv, fragments the error line must contain) --------------------

Case = Callable[[Kit], tuple[list[str], list[str]]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        assert name not in CASES
        CASES[name] = fn
        return fn

    return register


def _truncated_model(k: Kit) -> tuple[Path, Path]:
    model = k.copy_model("truncated")
    weights = model / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size // 2)
    return model, weights


@case("eval: truncated model.safetensors")
def _(k):
    model, weights = _truncated_model(k)
    return k.eval_sts(model=model), [f"{weights}: corrupt or truncated weights file"]


@case("train: truncated model.safetensors")
def _(k):
    model, weights = _truncated_model(k)
    return k.train(model=model), [f"{weights}: corrupt or truncated weights file"]


@case("eval: model folder without config.json")
def _(k):
    (k.data / "empty-model").mkdir()
    return k.eval_sts(model=k.data / "empty-model"), [f"{k.data / 'empty-model'}", "needs a config.json"]


@case("eval: mistyped relative model path models/nope")
def _(k):
    (k.data / "models").mkdir()
    k.monkeypatch.chdir(k.data)  # models/ exists here, models/nope does not: a path, not a hub id
    return k.eval_sts(model="models/nope"), ["models/nope: no such model folder", str(k.data / "models" / "nope")]


@case("eval: mistyped model path ./nope/model")
def _(k):
    k.monkeypatch.chdir(k.data)
    return k.eval_sts(model="./nope/model"), ["./nope/model: no such model folder"]


@case("eval: --device cuda without CUDA")
def _(k):
    import torch

    k.monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = k.eval_sts()
    argv[argv.index("--device") + 1] = "cuda"
    return argv, ["device 'cuda' requested (eval.device / --device) but CUDA is not available"]


@case("train: --device cuda without CUDA")
def _(k):
    import torch

    k.monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return k.train("--device", "cuda"), ["device 'cuda' requested (train.device / --device) but CUDA is not available"]


@case("train: settings device cuda:1 without CUDA")
def _(k):
    import torch

    k.monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return k.train(settings={"device": "cuda:1"}), ["device 'cuda:1' requested (train.device", "CUDA is not available"]


@case("eval: --device gpu")
def _(k):
    argv = k.eval_sts()
    argv[argv.index("--device") + 1] = "gpu"
    return argv, ["argument --device", "'gpu'"]


@case("eval: GRADPARADIGM_GPUS not a device list")
def _(k):
    k.monkeypatch.setenv("GRADPARADIGM_GPUS", "0,gpu1")
    argv = k.eval_sts()
    argv[argv.index("--device") + 1] = "auto"  # a job that may use a GPU claims one
    return argv, ["GRADPARADIGM_GPUS='0,gpu1'", "'gpu1' is not a device"]


@case("eval: --batch-size 0")
def _(k):
    return k.eval_sts("--batch-size", "0"), ["argument --batch-size", "must be an integer >= 1, got 0"]


@case("eval: --max-length -5")
def _(k):
    return k.eval_sts("--max-length", "-5"), ["argument --max-length", "got -5"]


@case("eval: --threads 0")
def _(k):
    return k.eval_transfer("--threads", "0"), ["argument --threads", "got 0"]


@case("eval: --classifier-threads abc")
def _(k):
    return k.eval_transfer("--classifier-threads", "abc"), ["argument --classifier-threads", "'abc'"]


@case("augment: --max-length 0")
def _(k):
    return k.augment("--max-length", "0"), ["argument --max-length", "got 0"]


@case("augment: --rate 1.5")
def _(k):
    return k.augment("--strategy", "word_deletion", "--rate", "1.5"), ["argument --rate", "[0, 1]"]


@case("train: --eval-batch-size 0")
def _(k):
    return k.train("--eval-batch-size", "0"), ["argument --eval-batch-size", "got 0"]


@case("train: --seed -1")
def _(k):
    return k.train("--seed", "-1"), ["argument --seed", "must be an integer >= 0"]


@case("augment: corpus with a non-UTF-8 byte")
def _(k):
    corpus = k.file("latin1.txt", b"a first sentence .\nd\xe9j\xe0 vu , in latin-1 .\na third one .\n")
    return k.augment(corpus=corpus), [f"{corpus}:2: not valid utf-8"]


@case("augment: missing corpus file")
def _(k):
    return k.augment(corpus=k.data / "nope.txt"), [f"{k.data / 'nope.txt'}: corpus file does not exist"]


@case("augment: corpus of one sentence")
def _(k):
    corpus = k.file("one.txt", "only one sentence .\n\n")
    return k.augment(corpus=corpus), [f"{corpus}: a training corpus needs at least 2 sentences"]


@case("eval: missing STS table")
def _(k):
    return k.eval_sts(table=k.data / "sts.parquet"), [f"{k.data / 'sts.parquet'}: missing table"]


@case("eval: STS table that is not parquet")
def _(k):
    table = k.file("sts.parquet", "task,split\nSTS12,test\n")
    return k.eval_sts(table=table), [f"{table}: not a readable parquet table"]


@case("eval: STS table without the requested task")
def _(k):
    table = k.data / "stsb-only.parquet"
    full = pd.read_parquet(k.sts)
    full[full["task"] == "STSBenchmark"].to_parquet(table)
    return k.eval_sts("--tasks", "STS12", table=table), [f"{table}: no STS12 rows"]


@case("eval-transfer: STS table given as the transfer table")
def _(k):
    return k.eval_transfer(), [f"{k.sts}: table lacks column(s) ['label']"]


@case("prepare-sts: non-numeric gold score")
def _(k):
    folder = k.data / "senteval" / "STS" / "STS12-en-test"
    k.file("senteval/STS/STS12-en-test/STS.input.MSRpar.txt", "a b\tc d\ne f\tg h\n")
    k.file("senteval/STS/STS12-en-test/STS.gs.MSRpar.txt", "4.0\nabc\n")
    return (
        ["prepare-sts", "--senteval", str(k.data / "senteval"), "--out", str(k.out / "sts.parquet")],
        [f"{folder / 'STS.gs.MSRpar.txt'}:2: score 'abc' is not a number"],
    )


@case("prepare-sts: folder without the STS files")
def _(k):
    return (
        ["prepare-sts", "--senteval", str(k.data), "--out", str(k.out / "sts.parquet")],
        [f"{k.data / 'STS'}", "missing file"],
    )


@case("train: --loss-args not JSON")
def _(k):
    return k.train("--loss-args", "{tau: 0.05"), ["--loss-args: not a JSON object or @file"]


@case("train: --loss-args @missing file")
def _(k):
    return k.train("--loss-args", f"@{k.data / 'args.json'}"), ["--loss-args", str(k.data / "args.json")]


@case("train: --loss-args unknown hyperparameter")
def _(k):
    return k.train("--loss-args", '{"temperature": 0.1}'), ["--loss-args:", "temperature"]


@case("train: unknown --loss")
def _(k):
    return k.train(loss="simcse-v2"), ["--loss: unknown loss 'simcse-v2'; valid: infonce", "module.path:ClassName"]


@case("train: --settings batch_size 0")
def _(k):
    return k.train(settings={"batch_size": 0}), [
        "config key '--settings.batch_size'",
        "0 is less than the minimum of 2",
    ]


@case("train: --recording with a setting that shapes the model")
def _(k):
    return k.train("--recording", json.dumps({"log_steps": 2, "lr": 1.0})), [
        "--recording: lr shape the model; only log_steps, checkpoint_steps, dynamics belong here"
    ]


@case("train: --recording-for a run it does not list")
def _(k):
    return k.train("--recording", json.dumps({"m/a": {"log_steps": 2}}), "--recording-for", "m/b"), [
        "--recording has no entry for --recording-for 'm/b' and no '*'"
    ]


@case("train: --recording @file that the workflow did not write")
def _(k):
    return k.train("--recording", f"@{k.data / 'recording.json'}", "--recording-for", "m/a"), [
        f"--recording: no file {k.data / 'recording.json'}",
        "onstart hook",
    ]


@case("train: missing views folder")
def _(k):
    return k.train(views=k.data / "views"), [f"{k.data / 'views'}: not a views folder"]


@case("train: corrupt views.json")
def _(k):
    k.file("views/views.json", "{not json")
    return k.train(views=k.data / "views"), [f"{k.data / 'views' / 'views.json'}: cannot read views metadata"]


@case("train: --meta without =")
def _(k):
    return k.train("--meta", "seed0"), ["--meta expects KEY=VALUE, got 'seed0'"]


@case("fetch-senteval: --local-dir that is not SentEval's")
def _(k):
    return (
        [
            "fetch-senteval",
            "--out",
            str(k.out / "senteval"),
            "--record",
            str(k.out / "senteval.json"),
            "--local-dir",
            str(k.data),
        ],
        [f"{k.data}: not a SentEval downstream folder"],
    )


@case("fetch-corpus: checksum mismatch of a corrupted mirror copy")
def _(k):
    mirror = Path(os.environ.get("GRADPARADIGM_SHARED_DATA", SRC.parents[1] / "shared" / "data")) / "wiki" / WIKI_NAME
    if not mirror.is_file():
        pytest.skip(f"offline data mirror not found ({mirror})")
    copy = k.file(WIKI_NAME, mirror.read_bytes() + b"one more line .\n")
    return (
        [
            "fetch-corpus",
            "--out",
            str(k.out / "corpus.txt"),
            "--record",
            str(k.out / "corpus.json"),
            "--local-file",
            str(copy),
        ],
        [f"{copy}: sha256 mismatch"],
    )


@case("eval: --out inside a file")
def _(k):
    blocker = k.file("blocker", "a file, not a folder")
    argv = k.eval_sts()
    argv[argv.index("--out") + 1] = str(blocker / "sts.json")
    return argv, [f"{blocker / 'sts.json'}: cannot create its folder {blocker} (File exists)"]


@case("unexpected exception (a bug)")
def _(k):
    from gradparadigm.data import sts

    def broken(*args, **kwargs):
        raise KeyError("boom")

    k.monkeypatch.setattr(sts, "parse_sts_all", broken)
    return (
        ["prepare-sts", "--senteval", str(k.data), "--out", str(k.out / "sts.parquet")],
        ["unexpected KeyError at test_error_catalogue.py:", "'boom'", "run with --debug for the traceback"],
    )


def test_the_catalogue_is_long_enough():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_error_catalogue(name, kit, capsys):
    argv, fragments = CASES[name](kit)
    line = error_line(*run_cli(argv, capsys))
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert leftovers(kit.out) == []


# --- faults while writing, and what interrupted runs leave behind ----------------------------------------


def test_disk_full_while_checkpointing_names_the_checkpoint_and_leaves_nothing_half_written(kit, capsys):
    """torch's own failure when the disk fills up mid ``torch.save`` (simulated: the file is half
    written, then the RuntimeError torch raises)."""
    import torch

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a zip archive")
        raise RuntimeError(
            "[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
            "data/7: file write failed"
        )

    kit.monkeypatch.setattr(torch, "save", full_disk)
    line = error_line(*run_cli(kit.train(), capsys))
    assert f"{kit.checkpoint / 'state.pt'}: could not write the checkpoint of step 2" in line
    assert "the disk may be full" in line and "inline_container.cc" in line
    # the live log is resumable state; no state.pt, no orphaned best weights, no temporary, no output
    assert leftovers(kit.out) == [
        "checkpoints",
        "checkpoints/tiny",
        "checkpoints/tiny/infonce",
        "checkpoints/tiny/infonce/seed~0",
        "checkpoints/tiny/infonce/seed~0/train_log.jsonl",
    ]


def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != cli.DEBUG_ENV}
    return {**env, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", **extra}


def test_real_write_failure_while_checkpointing(kit):
    """A real fault in a real process: files may not grow past 1 MB (RLIMIT_FSIZE), so writing the
    4 MB checkpoint fails inside safetensors / torch, as on a full disk."""
    command = [sys.executable, "-m", "gradparadigm", *kit.train("--threads", "1")]
    result = subprocess.run(
        command, env=_env(), capture_output=True, text=True, timeout=300, preexec_fn=_file_size_limit(1 << 20)
    )
    line = error_line(result.returncode, result.stderr)
    assert f"{kit.checkpoint}/" in line and "could not write the checkpoint of step 2" in line
    assert "File too large" in line and "file size limit" in line
    assert leftovers(kit.out) == [
        "checkpoints",
        "checkpoints/tiny",
        "checkpoints/tiny/infonce",
        "checkpoints/tiny/infonce/seed~0",
        "checkpoints/tiny/infonce/seed~0/train_log.jsonl",
    ]


def test_a_run_removes_what_a_killed_run_left_and_its_empty_checkpoint_folders(kit, capsys):
    stale = [
        kit.out / ".model.hf.k2j4_x9a",
        kit.out / ".model.q8w3e5r1.tmp",
        kit.out / ".model.old",
        kit.out / ".hparams.json.a1b2c3d4.tmp",
        kit.out / ".train_log.jsonl.zz99zz99.tmp",
    ]
    for path in stale[:3]:
        path.mkdir()
        (path / "model.safetensors").write_bytes(b"partial")
    for path in stale[3:]:
        path.write_text("partial")
    foreign = kit.out / ".model.backup.q8w3e5r1.tmp"  # another output's temporary: not ours to remove
    foreign.write_text("keep")
    (kit.out / "checkpoints" / "tiny" / "other-variant").mkdir(parents=True)

    code, err = run_cli(kit.train(), capsys)
    assert code == 0, err[-3000:]
    assert not any(path.exists() for path in stale) and foreign.exists()
    # the finished run's checkpoint and its now empty variant folder are gone; a sibling stays
    assert leftovers(kit.out / "checkpoints") == ["tiny", "tiny/other-variant"]
    assert (kit.out / "model" / "modules.json").is_file() and (kit.out / "hparams.json").is_file()


def test_model_export_removes_its_stale_temporaries(tmp_path, tiny_bert_dir):
    from transformers import AutoModel, AutoTokenizer

    from gradparadigm.training.export import save_sentence_transformer

    out = tmp_path / "model"
    (tmp_path / ".model.hf.abcdefgh").mkdir()
    (tmp_path / ".model.abcdefgh.tmp").mkdir()
    save_sentence_transformer(
        AutoModel.from_pretrained(tiny_bert_dir),
        AutoTokenizer.from_pretrained(tiny_bert_dir),
        "cls",
        out,
        max_seq_length=32,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# --- --debug -----------------------------------------------------------------------------------------------


def _prepare_sts_fails(tmp_path: Path) -> list[str]:
    return ["prepare-sts", "--senteval", str(tmp_path), "--out", str(tmp_path / "out" / "sts.parquet")]


def _check_debug_output(code: int, err: str, traceback: bool, tmp_path: Path) -> None:
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and "missing file" in lines[-1]
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]
    assert ("Traceback (most recent call last)" in err) == traceback
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("how", ["default", "--debug", "--debug after the subcommand", "GRADPARADIGM_DEBUG=1"])
def test_debug_shows_the_traceback(how, tmp_path, monkeypatch, capsys):
    """The traceback only on request; the error line always comes last."""
    args = _prepare_sts_fails(tmp_path)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    if how == "--debug":
        args = ["--debug", *args]
    elif how == "--debug after the subcommand":
        args = [*args, "--debug"]
    elif how == "GRADPARADIGM_DEBUG=1":
        monkeypatch.setenv(cli.DEBUG_ENV, "1")
    _check_debug_output(*run_cli(args, capsys), traceback=how != "default", tmp_path=tmp_path)


def test_debug_through_the_real_entry_point(tmp_path):
    """``python -m gradparadigm`` with ``GRADPARADIGM_DEBUG=1`` set in the environment (as a workflow would)."""
    result = subprocess.run(
        [sys.executable, "-m", "gradparadigm", *_prepare_sts_fails(tmp_path)],
        env=_env(**{cli.DEBUG_ENV: "1"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _check_debug_output(result.returncode, result.stderr, traceback=True, tmp_path=tmp_path)


def test_describe_error_maps_expected_exceptions():
    assert (
        cli.describe_error(FileNotFoundError(2, "No such file or directory", "/x/y.txt"))
        == "/x/y.txt: No such file or directory"
    )
    assert (
        cli.describe_error(OSError(28, "No space left on device", "/x/out"))
        == "/x/out: No space left on device; the disk may be full"
    )
    decode = UnicodeDecodeError("utf-8", b"a\xff", 1, 2, "invalid start byte")
    assert cli.describe_error(decode).startswith("a file is not valid utf-8 text (byte 1: invalid start byte)")
    assert cli.describe_error(ValueError("bad\nvalue"), debug=True) == "bad value"  # always one line
