"""The ``gradparadigm`` command: one subcommand per pipeline step, called by the Snakemake rules.

Each subcommand reads its inputs, writes its outputs atomically and logs to stderr (the rules send
stderr to their ``log:`` file). Every failure ends with one ``error:`` line on stderr that names the
file (and line), flag or config key at fault, and exit status 1; ``--debug`` (or the environment
variable ``GRADPARADIGM_DEBUG=1``) prints the full traceback before it.
"""

from __future__ import annotations

import argparse
import errno
import logging
import math
import os
import re
import sys
import time
import traceback
from pathlib import Path

from gradparadigm.errors import DataFormatError, GradParadigmError

log = logging.getLogger("gradparadigm")
DEBUG_ENV = "GRADPARADIGM_DEBUG"
DEBUG_HINT = "run with --debug for the traceback"


class _Parser(argparse.ArgumentParser):
    """A usage error ends like every other error: one ``error:`` line naming the flag, status 1."""

    def error(self, message: str):
        self.exit(1, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def optional_positive_int(text: str) -> int | None:
    """An integer >= 1, or ``none`` (the default: e.g. the tokenizer's own limit)."""
    return None if text.strip().lower() == "none" else positive_int(text)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _source(args: argparse.Namespace, local: str) -> tuple[str, Path | None]:
    """(url, local path) of a fetch: ``--source`` is a URL (scheme://...) or a local path; without it
    ``--url`` and ``--local-dir``/``--local-file``."""
    if args.source is None:
        return args.url, getattr(args, local)
    if _URL.match(args.source):
        return args.source, None
    return args.url, Path(args.source)


def _verify(args: argparse.Namespace) -> bool:
    return args.checksums == "verify" and not args.no_verify


def positive_float(text: str) -> float:
    """A finite number > 0 (a temperature)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def unit_float(text: str) -> float:
    """A number in [0, 1] (a rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text}")
    return value


def device_arg(text: str) -> str:
    from gradparadigm.encoder import DEVICE_PATTERN

    if not DEVICE_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")
    return text


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_error(exc: BaseException, debug: bool = False) -> str:
    """The ``error:`` line (without the prefix) for any exception: where the problem is and what it is.

    :class:`GradParadigmError` messages already name the file, line, flag or config key. Other
    expected failures are put in that form (an ``OSError`` by its file name); what is left is a bug
    or a failure nobody foresaw: its type, the code location it came from and how to see the traceback.
    """
    hint = "" if debug else f" ({DEBUG_HINT})"
    if isinstance(exc, GradParadigmError):
        return _one_line(exc)
    try:
        from safetensors import SafetensorError
    except ImportError:  # pragma: no cover - a dependency of transformers
        SafetensorError = ()  # noqa: N806
    if isinstance(exc, UnicodeDecodeError):
        return _one_line(f"a file is not valid {exc.encoding} text (byte {exc.start}: {exc.reason}){hint}")
    if isinstance(exc, OSError):
        what = exc.strerror or _one_line(exc) or type(exc).__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            what += "; the disk may be full"
        if exc.filename is not None:
            where = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
            return _one_line(f"{where}: {what}")
        return _one_line(f"{type(exc).__name__}: {what}{hint}")
    if SafetensorError and isinstance(exc, SafetensorError):
        return _one_line(f"corrupt or truncated safetensors file ({exc}){hint}")
    if isinstance(exc, ValueError):
        return _one_line(f"{exc}{hint}")
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return _one_line(f"unexpected {type(exc).__name__}{where}: {exc}{hint}")


def _setup(args: argparse.Namespace) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    threads = getattr(args, "threads", None)
    if threads:
        import torch

        torch.set_num_threads(threads)


def _claim_gpu(preference: str) -> None:
    """Pin a job that may use CUDA (device auto or cuda) to a free GPU of its own, before CUDA starts
    (``gradparadigm.devices``); ``cpu`` and an explicit ``cuda:N`` are left as asked."""
    if preference in ("auto", "cuda"):
        from gradparadigm.devices import claim_gpu_for_process

        claim_gpu_for_process()


def _meta(pairs: list[str] | None) -> dict[str, str]:
    meta = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise GradParadigmError(f"--meta expects KEY=VALUE, got {pair!r}")
        meta[key] = value
    return meta


def cmd_fetch_senteval(args: argparse.Namespace) -> None:
    from gradparadigm.data.fetch import fetch_senteval

    url, local = _source(args, "local_dir")
    fetch_senteval(args.out, args.record, url=url, local_dir=local, verify=_verify(args))


def cmd_fetch_corpus(args: argparse.Namespace) -> None:
    from gradparadigm.data.fetch import fetch_corpus

    url, local = _source(args, "local_file")
    fetch_corpus(args.out, args.record, url=url, local_file=local, verify=_verify(args))


def _write_table(table, out: Path) -> None:
    from gradparadigm.data.tables import write_table

    write_table(table, out)
    counts = table.groupby(["task", "split"]).size()
    log.info("wrote %s: %d rows\n%s", out, len(table), counts.to_string())


def cmd_prepare_sts(args: argparse.Namespace) -> None:
    from gradparadigm.data.sts import parse_sts_all

    _write_table(parse_sts_all(args.senteval), args.out)


def cmd_prepare_transfer(args: argparse.Namespace) -> None:
    from gradparadigm.data.transfer_tasks import parse_transfer_tasks

    _write_table(parse_transfer_tasks(args.senteval), args.out)


def _check_table(table, path: Path, tasks: list[str], splits: dict[str, tuple[str, ...]]) -> None:
    """Fail before the encoder loads when the table lacks rows an evaluation needs (the evaluation
    itself would only say "the table", after encoding)."""
    for task in tasks:
        have = set(table.loc[table["task"] == task, "split"])
        missing = [split for split in splits.get(task, ()) if split not in have]
        if not have or missing:
            what = "rows" if not have else f"{', '.join(missing)} rows"
            raise DataFormatError(path, f"no {task} {what}; rerun the prepare rule (or choose --tasks)")


def _evaluate(
    args: argparse.Namespace,
    table_path: Path,
    evaluate,
    *,
    columns: list[str],
    splits: dict[str, tuple[str, ...]],
    **meta,
) -> tuple[dict, float, object]:
    """Check the device and the table, load the encoder, run ``evaluate(table, encoder)``, add
    provenance to the result under ``meta`` and write it atomically to ``args.out``."""
    from gradparadigm.data.tables import read_table
    from gradparadigm.encoder import choose_device, load_encoder
    from gradparadigm.fileio import remove_stale_temporaries, write_json_atomic
    from gradparadigm.provenance import environment_info

    _claim_gpu(args.device)
    device = choose_device(args.device, where="eval.device / --device")
    remove_stale_temporaries(args.out)
    table = read_table(table_path, columns)
    _check_table(table, table_path, args.tasks, splits)
    encoder = load_encoder(args.model, args.pooler, device=str(device), max_length=args.max_length)
    start = time.perf_counter()
    results = evaluate(table, encoder)
    seconds = time.perf_counter() - start
    results["meta"] = {
        **_meta(args.meta),
        "model_source": args.model,
        "pooler": encoder.pooler,
        "max_length": encoder.max_length,
        **meta,
        "seconds": round(seconds, 2),
        **environment_info(encoder.device),
    }
    write_json_atomic(args.out, results)
    return results, seconds, encoder


def cmd_eval_sts(args: argparse.Namespace) -> None:
    from gradparadigm.evaluation.sts import SETTING, evaluate_sts

    def evaluate(table, encoder):
        return evaluate_sts(table, lambda s: encoder.encode(s, batch_size=args.batch_size), tasks=args.tasks)

    results, seconds, encoder = _evaluate(
        args,
        args.sts_table,
        evaluate,
        columns=["task", "split", "sentence1", "sentence2", "score"],
        splits={task: ("test",) for task in args.tasks},
        setting=SETTING,
    )
    summary = "  ".join(f"{t}={results[t]['spearman']:.2f}" for t in [*args.tasks, "avg"])
    log.info("STS Spearman x100 (%s pooling, %.1f s): %s", encoder.pooler, seconds, summary)


def cmd_eval_transfer(args: argparse.Namespace) -> None:
    from gradparadigm.evaluation.transfer import REQUIRED_SPLITS, run_transfer

    def evaluate(table, encoder):
        return run_transfer(
            table,
            lambda s: encoder.encode(s, batch_size=args.batch_size),
            tasks=args.tasks,
            mode=args.mode,
            engine=args.engine,
            cache_dir=args.cache_dir,
            fingerprint=encoder.fingerprint(),
            threads=args.classifier_threads,
        )

    results, seconds, _ = _evaluate(
        args,
        args.transfer_table,
        evaluate,
        columns=["task", "split", "sentence1", "sentence2", "label"],
        splits=REQUIRED_SPLITS,
    )
    summary = "  ".join(f"{t}={results['tasks'][t]['acc']:.2f}" for t in args.tasks)
    log.info(
        "transfer accuracy (%s mode, %s engine, %.1f s): %s  avg=%.2f",
        args.mode,
        args.engine,
        seconds,
        summary,
        results["avg"],
    )


def cmd_aggregate(args: argparse.Namespace) -> None:
    from gradparadigm.reporting.aggregate import aggregate

    study = _json_arg(args.study, "--study") if args.study else None
    aggregate(study, args.sts, args.transfer, args.train_logs, args.out_dir, args.figures_dir, args.benchmarks)


def cmd_sweep(args: argparse.Namespace) -> None:
    from gradparadigm.reporting.sweeps import write_sweep

    sweep = _json_arg(args.sweep, "--sweep")
    written = write_sweep(sweep, args.sts, args.train_logs, args.out_dir, args.window)
    log.info("wrote %d files to %s", len(written), args.out_dir)


def cmd_simulate(args: argparse.Namespace) -> None:
    from gradparadigm.analysis.simulation_run import run_simulations

    record = run_simulations(_json_arg(args.settings, "--settings"), args.out_dir, args.figures_dir)
    log.info("simulations done: %s", ", ".join(f"{k} {v:.1f} s" for k, v in record["seconds"].items()))


def cmd_statistics(args: argparse.Namespace) -> None:
    from gradparadigm.analysis.encoder_statistics import encoder_statistics
    from gradparadigm.encoder import choose_device
    from gradparadigm.fileio import remove_stale_temporaries, write_json_atomic
    from gradparadigm.provenance import environment_info

    device = choose_device(args.device, where="eval.device / --device")  # fail before anything loads
    remove_stale_temporaries(args.out)
    _quiet_hub_progress()
    result = encoder_statistics(
        args.model,
        args.corpus,
        n_sentences=args.n_sentences,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        pooler=args.pooler,
        taus=args.taus,
        margins=args.margins,
        loss_args=_json_arg(args.loss_args, "--loss-args"),
        device=str(device),
    )
    result["meta"] = {**_meta(args.meta), **environment_info(device)}
    write_json_atomic(args.out, result)
    first = result["by_margin"][0]
    log.info(
        "statistics of %s (%d sentences, %.1f s): pos %.3f, neg %.3f, hardest %.3f, align %.3f, uniform %.3f; "
        "m=%g: %.0f%% masked, R arccon/met/mat %s",
        args.model,
        result["sample"]["n_sentences"],
        result["settings"]["seconds"],
        result["pos_cos"],
        result["neg_cos_mean"],
        result["neg_cos_hardest"],
        result["alignment"],
        result["uniformity"],
        first["m"],
        100 * (first["masked_frac"] or 0),
        "/".join("-" if v is None else f"{v:.3f}" for v in first["ratio"].values()),
    )


def _json_arg(text: str | None, flag: str) -> dict:
    """A JSON object given inline or as ``@file``."""
    import json

    if not text:
        return {}
    try:
        value = json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError, UnicodeDecodeError of the @file
        raise GradParadigmError(f"{flag}: not a JSON object or @file: {exc}") from None
    if not isinstance(value, dict):
        raise GradParadigmError(f"{flag}: expected a JSON object, got {type(value).__name__}")
    return value


def _quiet_hub_progress() -> None:
    """Progress bars of transformers/datasets (weights loading, shard writing) only clutter job logs."""
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()


def cmd_augment(args: argparse.Namespace) -> None:
    from gradparadigm.training.settings import AugmentSettings
    from gradparadigm.training.views import build_views

    _quiet_hub_progress()
    build_views(
        args.corpus,
        args.model,
        args.out,
        max_length=args.max_length,
        augment=AugmentSettings(args.strategy, args.rate),
        seed=args.seed,
    )


def cmd_train(args: argparse.Namespace) -> None:
    import dataclasses
    import signal

    from gradparadigm.encoder import choose_device
    from gradparadigm.losses import resolve_hparams
    from gradparadigm.losses.registry import loss_class
    from gradparadigm.training.settings import RECORDING_SETTINGS, TrainSettings
    from gradparadigm.training.trainer import train

    values = _json_arg(args.settings, "--settings")
    if args.recording and args.recording.startswith("@") and not Path(args.recording[1:]).is_file():
        raise GradParadigmError(
            f"--recording: no file {args.recording[1:]} (the workflow writes results/recording.json when it "
            "starts, in its onstart hook: not in a dry run, nor with --no-hooks)"
        )
    recording = _json_arg(args.recording, "--recording")
    if args.recording_for is not None:
        if args.recording_for not in recording and "*" not in recording:
            raise GradParadigmError(f"--recording has no entry for --recording-for {args.recording_for!r} and no '*'")
        recording = recording.get(args.recording_for, recording.get("*"))
    unknown = sorted(set(recording) - set(RECORDING_SETTINGS))
    if unknown:
        raise GradParadigmError(
            f"--recording: {', '.join(unknown)} shape the model; only {', '.join(RECORDING_SETTINGS)} belong here"
        )
    settings = TrainSettings.from_dict({**values, **recording}, where="--settings")
    if args.device is not None:
        settings = dataclasses.replace(settings, device=args.device)
    _claim_gpu(settings.device)
    choose_device(settings.device, where="train.device / --device")  # fail before anything loads
    loss_args = _json_arg(args.loss_args, "--loss-args")
    try:
        loss_class(args.loss)
    except ValueError as exc:
        raise GradParadigmError(f"--loss: {exc}") from None
    try:
        resolve_hparams(args.loss, **loss_args)
    except ValueError as exc:
        raise GradParadigmError(f"--loss-args: {exc}") from None
    _quiet_hub_progress()
    stop = {"requested": False}

    def request_stop(signum, frame):  # SLURM sends SIGTERM before it kills a job (preemption, time limit)
        log.warning("signal %d: checkpointing after the current step, then stopping", signum)
        stop["requested"] = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        train(
            model_source=args.model,
            views_dir=args.views,
            sts_table=args.sts_table,
            loss=args.loss,
            loss_args=loss_args,
            pooler=args.pooler,
            settings=settings,
            seed=args.seed,
            model_out=args.model_out,
            log_out=args.log_out,
            hparams_out=args.hparams_out,
            checkpoint_dir=args.checkpoint_dir,
            eval_batch_size=args.eval_batch_size,
            meta=_meta(args.meta),
            stop_requested=lambda: stop["requested"],
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_parser() -> argparse.ArgumentParser:
    from gradparadigm.analysis.encoder_statistics import DEFAULT_MARGINS, DEFAULT_TAUS
    from gradparadigm.data.fetch import SENTEVAL_URL, WIKI1M_URL
    from gradparadigm.data.sts import STS_TASKS
    from gradparadigm.data.transfer_tasks import TRANSFER_TASKS
    from gradparadigm.encoder import POOLERS
    from gradparadigm.evaluation.transfer import ENGINES, MODES
    from gradparadigm.losses import LOSS_NAMES
    from gradparadigm.training.settings import AUGMENTATIONS

    parser = _Parser(prog="gradparadigm", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--debug", action="store_true", help=f"print the full traceback of an error (also: {DEBUG_ENV}=1)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add_checksum_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--checksums",
            choices=("verify", "warn"),
            default="verify",
            help="verify: fail on a sha256 mismatch with the shipped manifest; warn: warn and record",
        )
        p.add_argument("--no-verify", action="store_true", help="the same as --checksums warn")

    p = sub.add_parser("fetch-senteval", help="download or copy SentEval's downstream data and verify it")
    p.add_argument("--out", required=True, type=Path, help="folder to create (SentEval's data/downstream)")
    p.add_argument("--record", required=True, type=Path, help="JSON file recording source and sha256 sums")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--source", default=None, help="a URL (scheme://...) to download, or an existing local folder (offline)"
    )
    where.add_argument("--url", default=SENTEVAL_URL)
    where.add_argument("--local-dir", type=Path, default=None, help="existing SentEval downstream folder (offline)")
    add_checksum_arguments(p)
    p.set_defaults(func=cmd_fetch_senteval)

    p = sub.add_parser("fetch-corpus", help="download or copy the training corpus (one sentence per line)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--record", required=True, type=Path)
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--source", default=None, help="a URL (scheme://...) to download, or an existing local file (offline)"
    )
    where.add_argument("--url", default=WIKI1M_URL)
    where.add_argument("--local-file", type=Path, default=None, help="existing corpus file (offline)")
    add_checksum_arguments(p)
    p.set_defaults(func=cmd_fetch_corpus)

    for name, what, func in (
        ("prepare-sts", "every STS set", cmd_prepare_sts),
        ("prepare-transfer", "the seven transfer tasks", cmd_prepare_transfer),
    ):
        p = sub.add_parser(name, help=f"parse {what} into one tidy parquet table")
        p.add_argument("--senteval", required=True, type=Path, help="SentEval downstream folder")
        p.add_argument("--out", required=True, type=Path)
        p.set_defaults(func=func)

    def evaluation_parser(name: str, help: str, table_flag: str, tasks: tuple[str, ...]) -> argparse.ArgumentParser:
        """The arguments every evaluation shares: which encoder, how to encode, where to write."""
        p = sub.add_parser(name, help=help)
        p.add_argument("--model", required=True, help="packaged:NAME, a local folder or a hub id")
        p.add_argument(
            "--pooler", choices=POOLERS, default=None, help="default: the folder's recorded pooler, else cls"
        )
        p.add_argument(table_flag, required=True, type=Path)
        p.add_argument("--out", required=True, type=Path)
        p.add_argument("--tasks", nargs="+", default=list(tasks), choices=tasks)
        p.add_argument("--batch-size", type=positive_int, default=128)
        p.add_argument(
            "--max-length",
            type=optional_positive_int,
            default=None,
            help="tokens per sentence; none (default) = the tokenizer's limit",
        )
        p.add_argument("--device", type=device_arg, default="auto", help="auto, cpu, cuda or cuda:N")
        p.add_argument("--threads", type=positive_int, default=None, help="torch threads for encoding")
        p.add_argument(
            "--meta", nargs="*", metavar="KEY=VALUE", help="labels stored with the result (model, variant, seed)"
        )
        return p

    p = evaluation_parser(
        "eval-sts", "score an encoder on STS12-16, STS-B and SICK-R (cosine Spearman)", "--sts-table", STS_TASKS
    )
    p.set_defaults(func=cmd_eval_sts)

    p = evaluation_parser(
        "eval-transfer",
        "SentEval transfer tasks (logistic regression on frozen embeddings)",
        "--transfer-table",
        TRANSFER_TASKS,
    )
    p.add_argument(
        "--mode", choices=sorted(MODES), default="test", help="SentEval 'test' settings or 'fast' prototyping"
    )
    p.add_argument("--engine", choices=ENGINES, default="torch", help="SentEval's PyTorch classifier or scikit-learn")
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (keyed by the encoder's fingerprint)")
    p.add_argument(
        "--classifier-threads",
        type=positive_int,
        default=1,
        help="threads for the classifiers (1 is fastest on a shared machine)",
    )
    p.set_defaults(func=cmd_eval_transfer)

    p = sub.add_parser("augment", help="tokenize the corpus into the two views of every sentence (Arrow cache)")
    p.add_argument("--corpus", required=True, type=Path, help="one sentence per line")
    p.add_argument("--model", required=True, help="whose tokenizer: packaged:NAME, a local folder or a hub id")
    p.add_argument("--out", required=True, type=Path, help="views folder to write (reused if up to date)")
    p.add_argument("--max-length", type=positive_int, default=32)
    p.add_argument(
        "--strategy",
        choices=AUGMENTATIONS,
        default="dropout",
        help="dropout: identical text (the paper's); word_deletion / token_shuffle: discrete edits",
    )
    p.add_argument("--rate", type=unit_float, default=0.0, help="deletion probability / share of tokens shuffled")
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="draws the discrete augmentations (unused by dropout)"
    )
    p.set_defaults(func=cmd_augment)

    p = sub.add_parser("train", help="train one encoder (unsupervised SimCSE loop), resumable")
    p.add_argument("--model", required=True, help="packaged:NAME, a local folder or a hub id")
    p.add_argument("--views", required=True, type=Path, help="views folder written by `augment`")
    p.add_argument("--sts-table", required=True, type=Path, help="table of `prepare-sts` (STS-B dev selects)")
    p.add_argument(
        "--loss",
        required=True,
        help=f"{', '.join(LOSS_NAMES)}, or a loss from outside the package as module.path:ClassName",
    )
    p.add_argument("--loss-args", default=None, help="JSON object (or @file) of loss hyperparameters")
    p.add_argument("--pooler", choices=POOLERS, default="cls")
    p.add_argument(
        "--settings", default=None, help="JSON object (or @file) of training settings; missing keys take their defaults"
    )
    p.add_argument(
        "--recording",
        default=None,
        help="JSON object (or @file) of the recording settings (log_steps, checkpoint_steps, dynamics), "
        "over --settings; with --recording-for, an object of such objects keyed by run ('*': any other run)",
    )
    p.add_argument("--recording-for", default=None, metavar="KEY", help="the entry of --recording for this run")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument(
        "--device",
        type=device_arg,
        default=None,
        help="auto, cpu, cuda or cuda:N (default: the device of --settings, else auto)",
    )
    p.add_argument("--model-out", required=True, type=Path, help="folder for the best model (sentence-transformers)")
    p.add_argument("--log-out", required=True, type=Path, help="train_log.jsonl")
    p.add_argument("--hparams-out", required=True, type=Path, help="hparams.json (settings, result, provenance)")
    p.add_argument("--checkpoint-dir", required=True, type=Path, help="resumable state; keep it out of outputs")
    p.add_argument("--eval-batch-size", type=positive_int, default=128)
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--meta", nargs="*", metavar="KEY=VALUE", help="labels stored in hparams.json")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("aggregate", help="tables (Markdown, LaTeX, CSV, HTML) and figures of a study")
    p.add_argument(
        "--study",
        default=None,
        help="JSON object (or @file): the study description (reporting.study.describe_study); "
        "without it variants keep the order given and have no role",
    )
    p.add_argument(
        "--sts",
        nargs="*",
        default=[],
        type=Path,
        help="sts.json files, each at .../{model}/{variant}/seed~{seed}/sts.json",
    )
    p.add_argument("--transfer", nargs="*", default=[], type=Path, help="transfer.json files (same layout)")
    p.add_argument(
        "--train-logs",
        nargs="*",
        default=[],
        type=Path,
        help="train_log.jsonl files (same layout), for the training-curve figures",
    )
    p.add_argument(
        "--out-dir",
        required=True,
        type=Path,
        help="writes {sts,ori_vs_mod,ablation,provenance[,transfer]}.{md,tex,csv,html}",
    )
    p.add_argument(
        "--figures-dir",
        type=Path,
        default=None,
        help="writes {figure1_ori_vs_mod,ablation,training_curves_<model>}.{png,pdf}",
    )
    p.add_argument(
        "--benchmarks",
        type=Path,
        default=None,
        help="Snakemake's benchmark folder (results/benchmarks): writes the cost table, cost.*",
    )
    p.set_defaults(func=cmd_aggregate)
    p = sub.add_parser("sweep", help="the table and figure of one sweep (config sweeps): a row per value")
    p.add_argument(
        "--sweep", required=True, help="JSON object (or @file): the sweep description (reporting.sweeps.describe_sweep)"
    )
    p.add_argument(
        "--sts",
        nargs="*",
        default=[],
        type=Path,
        help="sts.json of the sweep's runs, each at .../{model}/{variant}/seed~{seed}/sts.json",
    )
    p.add_argument("--train-logs", nargs="*", default=[], type=Path, help="train_log.jsonl of the runs (same layout)")
    p.add_argument(
        "--window",
        type=positive_int,
        default=3,
        help="each diagnostic: the mean of a run's last N logged values (default 3)",
    )
    p.add_argument("--out-dir", required=True, type=Path, help="writes table.{md,tex,csv,html} and figure.{png,pdf}")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("simulate", help="the GD, W and R simulations over angle grids (tables and figures)")
    p.add_argument(
        "--settings",
        required=True,
        help="JSON object (or @file): the config's `simulations` section, defaults filled in",
    )
    p.add_argument("--out-dir", required=True, type=Path, help="writes gd.csv, weight.csv, ratio.csv, settings.json")
    p.add_argument("--figures-dir", type=Path, default=None, help="writes simulation_{gd,weight,ratio}.{png,pdf}")
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser(
        "statistics",
        help="the official statistics.py quantities of one encoder on a seeded corpus "
        "sample (cosines, alignment, uniformity, W share, dynamic R)",
    )
    p.add_argument("--model", required=True, help="the encoder: a trained model folder, packaged:NAME or a hub id")
    p.add_argument("--corpus", required=True, type=Path, help="the training corpus (one sentence per line)")
    p.add_argument("--out", required=True, type=Path, help="statistics.json")
    p.add_argument("--pooler", choices=POOLERS, default=None, help="default: the folder's recorded pooler, else cls")
    p.add_argument("--n-sentences", type=positive_int, default=1024, help="sentences sampled (full batches are used)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="the training batch size (in-batch negatives)")
    p.add_argument("--max-length", type=positive_int, default=32, help="tokens per sentence (the training max length)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="draws the sample and the dropout masks")
    p.add_argument(
        "--taus",
        type=positive_float,
        nargs="+",
        default=list(DEFAULT_TAUS),
        help="temperatures of the hardest negative's share of W",
    )
    p.add_argument(
        "--margins",
        type=float,
        nargs="+",
        default=list(DEFAULT_MARGINS),
        help="official mask: anchors with gap s_ii - max_j s_ij below m",
    )
    p.add_argument(
        "--loss-args",
        default=None,
        help='JSON object (or @file) of the ratio losses\' hyperparameters, e.g. {"arccon": {"u": 0.2}}',
    )
    p.add_argument("--device", type=device_arg, default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    p.add_argument(
        "--meta", nargs="*", metavar="KEY=VALUE", help="labels stored with the result (model, variant, seed)"
    )
    p.set_defaults(func=cmd_statistics)

    for p in sub.choices.values():  # --debug after the subcommand, too
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; 0 on success, else 1 after one ``error:`` line on stderr (130 on Ctrl-C)."""
    args = build_parser().parse_args(argv)
    debug = args.debug or _env_flag(DEBUG_ENV)
    try:
        _setup(args)
        args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure becomes one error line
        if debug:
            traceback.print_exc()
        print(f"error: {describe_error(exc, debug)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
