"""Parsers for SentEval's seven transfer tasks (MR, CR, SUBJ, MPQA, SST2, TREC, MRPC), into one tidy table.

Columns of the table:

- ``task``: ``MR``, ``CR``, ``SUBJ``, ``MPQA``, ``SST2``, ``TREC`` or ``MRPC``.
- ``split``: ``train``/``dev``/``test`` as the files give them (SST2: train, dev, test; TREC and
  MRPC: train, test). MR, CR, SUBJ and MPQA have no official split: they are cross-validated, and all
  their rows are ``train``.
- ``sentence1``; ``sentence2`` (MRPC's second sentence; ``None`` for every other task).
- ``label`` (int): MR/CR/MPQA positive = 1, negative = 0; SUBJ *objective* = 1, subjective = 0 (SentEval
  passes the objective file as its "pos" list); SST2 as in the file; TREC's coarse class in the order
  ABBR, DESC, ENTY, HUM, LOC, NUM = 0..5; MRPC's "Quality" (1 = paraphrase).
- ``file`` (the source file's name) and ``line`` (1-based line in it).

Rows keep each file's order, and MR/CR/SUBJ/MPQA list the "pos" file before the "neg" file, as
SentEval's ``pos + neg`` does: the evaluation reproduces SentEval's sort of the rows from that order.

The reading follows SentEval (``senteval/binary.py``, ``sst.py``, ``trec.py``, ``mrpc.py``):
MR/CR/SUBJ/MPQA and TREC are read as Latin-1 (TREC's training file holds a non-UTF-8 byte), SST2 and
MRPC as UTF-8; MR/CR/SUBJ/MPQA split lines with ``str.splitlines`` and keep empty lines as empty
sentences (CR has 4, MPQA 3; SentEval encodes them too, and the row counts include them); MRPC's
first line is a header (after a UTF-8 BOM). Sentences are whitespace-normalised the way SentEval's
``str.split()`` and the SimCSE batcher's ``" ".join(tokens)`` do it. Where SentEval would crash or
silently read garbage (wrong field count, unknown label), these parsers raise
:class:`~gradparadigm.errors.DataFormatError` with the file and line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import pandas as pd

from gradparadigm.data.text import normalise_sentence, read_lines, read_text
from gradparadigm.errors import DataFormatError

logger = logging.getLogger(__name__)

TRANSFER_TASKS = ("MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC")
CV_TASKS = ("MR", "CR", "SUBJ", "MPQA")  # cross-validated, no official test split
COLUMNS = ["task", "split", "sentence1", "sentence2", "label", "file", "line"]

# task -> (folder under downstream/, file with label 1, file with label 0)
BINARY_FILES: dict[str, tuple[str, str, str]] = {
    "MR": ("MR", "rt-polarity.pos", "rt-polarity.neg"),
    "CR": ("CR", "custrev.pos", "custrev.neg"),
    "SUBJ": ("SUBJ", "subj.objective", "subj.subjective"),
    "MPQA": ("MPQA", "mpqa.pos", "mpqa.neg"),
}
SST2_FILES = {"train": "sentiment-train", "dev": "sentiment-dev", "test": "sentiment-test"}
TREC_FILES = {"train": "train_5500.label", "test": "TREC_10.label"}
TREC_LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")  # SentEval's tgt2idx order
MRPC_FILES = {"train": "msr_paraphrase_train.txt", "test": "msr_paraphrase_test.txt"}
MRPC_HEADER = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]

NCLASSES = {"MR": 2, "CR": 2, "SUBJ": 2, "MPQA": 2, "SST2": 2, "TREC": 6, "MRPC": 2}

# Rows per (task, split) in the SentEval data (the mirror's README, "Counts").
EXPECTED_ROWS: dict[tuple[str, str], int] = {
    ("MR", "train"): 10662,
    ("CR", "train"): 3775,
    ("SUBJ", "train"): 10000,
    ("MPQA", "train"): 10606,
    ("SST2", "train"): 67349,
    ("SST2", "dev"): 872,
    ("SST2", "test"): 1821,
    ("TREC", "train"): 5452,
    ("TREC", "test"): 500,
    ("MRPC", "train"): 4076,
    ("MRPC", "test"): 1725,
}


def _int_label(path: Path, lineno: int, raw: str, allowed: Iterable[int]) -> int:
    allowed = tuple(allowed)
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value not in allowed:
        raise DataFormatError(path, f"label {raw!r} is not one of {', '.join(map(str, allowed))}", line=lineno)
    return value


def parse_binary(downstream: str | Path, task: str) -> pd.DataFrame:
    """MR, CR, SUBJ or MPQA: one sentence per line, the label given by the file (``senteval/binary.py``)."""
    folder, pos_name, neg_name = BINARY_FILES[task]
    rows = []
    empty = 0
    for name, label in ((pos_name, 1), (neg_name, 0)):
        path = Path(downstream) / folder / name
        # SentEval: io.open(encoding='latin-1').read().splitlines()
        for lineno, line in enumerate(read_text(path, "latin-1").splitlines(), start=1):
            sentence = normalise_sentence(line)
            empty += sentence == ""
            rows.append((task, "train", sentence, None, label, name, lineno))
    if empty:
        logger.debug("%s: %d empty lines kept as empty sentences, as SentEval does", task, empty)
    return pd.DataFrame(rows, columns=COLUMNS)


def parse_sst2(downstream: str | Path) -> pd.DataFrame:
    """SST binary: ``sentence<TAB>label`` per line, files ``sentiment-{train,dev,test}`` (``senteval/sst.py``)."""
    rows = []
    for split, name in SST2_FILES.items():
        path = Path(downstream) / "SST" / "binary" / name
        for lineno, line in enumerate(read_lines(path, "utf-8"), start=1):
            fields = line.strip().split("\t")
            if len(fields) != 2:
                raise DataFormatError(
                    path, f"expected 2 tab-separated fields (sentence, label), found {len(fields)}", line=lineno
                )
            label = _int_label(path, lineno, fields[1], (0, 1))
            rows.append(("SST2", split, normalise_sentence(fields[0]), None, label, name, lineno))
    return pd.DataFrame(rows, columns=COLUMNS)


def parse_trec(downstream: str | Path) -> pd.DataFrame:
    """TREC: ``COARSE:fine question`` per line; the coarse class is the label (``senteval/trec.py``)."""
    rows = []
    for split, name in TREC_FILES.items():
        path = Path(downstream) / "TREC" / name
        for lineno, line in enumerate(read_lines(path, "latin-1"), start=1):
            target, colon, rest = line.strip().partition(":")
            fine_and_question = rest.split(" ", 1)
            if not colon or len(fine_and_question) != 2:
                raise DataFormatError(path, "expected 'COARSE:fine question'", line=lineno)
            if target not in TREC_LABELS:
                raise DataFormatError(
                    path, f"unknown coarse label {target!r}; valid: {', '.join(TREC_LABELS)}", line=lineno
                )
            rows.append(
                ("TREC", split, normalise_sentence(fine_and_question[1]), None, TREC_LABELS.index(target), name, lineno)
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def parse_mrpc(downstream: str | Path) -> pd.DataFrame:
    """MRPC: a header, then ``Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String`` (``senteval/mrpc.py``)."""
    rows = []
    for split, name in MRPC_FILES.items():
        path = Path(downstream) / "MRPC" / name
        lines = enumerate(read_lines(path, "utf-8"), start=1)
        first = next(lines, None)
        if first is None or first[1].lstrip("\ufeff").strip().split("\t") != MRPC_HEADER:
            raise DataFormatError(path, f"expected the header {'<TAB>'.join(MRPC_HEADER)}", line=1)
        for lineno, line in lines:
            fields = line.strip().split("\t")
            if len(fields) != 5:
                raise DataFormatError(path, f"expected 5 tab-separated fields, found {len(fields)}", line=lineno)
            label = _int_label(path, lineno, fields[0], (0, 1))
            rows.append(
                ("MRPC", split, normalise_sentence(fields[3]), normalise_sentence(fields[4]), label, name, lineno)
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def check_row_counts(table: pd.DataFrame, downstream: str | Path) -> None:
    """Raise :class:`DataFormatError` when a (task, split) of ``table`` has not SentEval's row count."""
    counts = table.groupby(["task", "split"]).size()
    for (task, split), n in counts.items():
        expected = EXPECTED_ROWS[(task, split)]
        if n != expected:
            raise DataFormatError(
                downstream, f"{task} {split} has {n} rows; the SentEval data has {expected} (truncated or edited copy?)"
            )


def parse_transfer_tasks(
    downstream: str | Path, tasks: Iterable[str] = TRANSFER_TASKS, *, check_counts: bool = True
) -> pd.DataFrame:
    """The requested transfer tasks from a SentEval ``data/downstream`` folder, as one tidy table.

    With ``check_counts`` every (task, split) must have the row count of the SentEval data
    (:data:`EXPECTED_ROWS`); turn it off for small test fixtures.
    """
    frames = []
    for task in tasks:
        if task in BINARY_FILES:
            frames.append(parse_binary(downstream, task))
        elif task == "SST2":
            frames.append(parse_sst2(downstream))
        elif task == "TREC":
            frames.append(parse_trec(downstream))
        elif task == "MRPC":
            frames.append(parse_mrpc(downstream))
        else:
            raise ValueError(f"unknown transfer task {task!r}; valid: {', '.join(TRANSFER_TASKS)}")
    table = pd.concat(frames, ignore_index=True)
    table["label"] = table["label"].astype("int64")
    table["line"] = table["line"].astype("int64")
    if check_counts:
        check_row_counts(table, downstream)
    return table
