"""Parsers for the STS evaluation sets in SentEval's layout, into one tidy table.

Columns of the table: ``task`` (STS12 … STS16, STSBenchmark, SICKRelatedness), ``subset`` (the STS
file's name, e.g. ``MSRpar``; the genre for STS-B; ``SICK`` for SICK), ``split`` (``test`` for STS12-16;
``train``/``dev``/``test`` for STS-B and SICK, SICK's ``trial`` being its dev split), ``sentence1``,
``sentence2``, ``score`` (float gold similarity), ``line`` (1-based line in the source file).

The parsing follows SentEval (``senteval/sts.py``, ``senteval/sick.py``): STS12-16 pairs whose gold
line is empty are dropped (STS15/16 inputs hold unscored pairs); STS-B takes fields 5/6/7 of each
processed row; SICK skips its header. Sentences are whitespace-normalised the way SentEval's
``s.split()`` followed by the SimCSE batcher's ``" ".join(s)`` does it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from gradparadigm.data.text import normalise_sentence, read_lines
from gradparadigm.errors import DataFormatError

# SentEval's subset lists (senteval/sts.py), in its order. STS13 has no SMT subset (withdrawn).
STS_SUBSETS: dict[str, tuple[str, list[str]]] = {
    "STS12": ("STS12-en-test", ["MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"]),
    "STS13": ("STS13-en-test", ["FNWN", "headlines", "OnWN"]),
    "STS14": ("STS14-en-test", ["deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"]),
    "STS15": ("STS15-en-test", ["answers-forums", "answers-students", "belief", "headlines", "images"]),
    "STS16": ("STS16-en-test", ["answer-answer", "headlines", "plagiarism", "postediting", "question-question"]),
}
STS_YEAR_TASKS = tuple(STS_SUBSETS)
STS_TASKS = STS_YEAR_TASKS + ("STSBenchmark", "SICKRelatedness")
COLUMNS = ["task", "subset", "split", "sentence1", "sentence2", "score", "line"]


def _score(path: Path, lineno: int, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise DataFormatError(path, f"score {raw!r} is not a number", line=lineno) from None
    if not math.isfinite(value):
        raise DataFormatError(path, f"score {raw!r} is not finite", line=lineno)
    return value


def _fields(path: Path, lineno: int, line: str, expected: int) -> list[str]:
    fields = line.split("\t")
    if len(fields) != expected:
        raise DataFormatError(path, f"expected {expected} tab-separated fields, found {len(fields)}", line=lineno)
    return fields


def parse_sts_year(folder: str | Path, task: str) -> pd.DataFrame:
    """One STS12-16 task: every subset's ``STS.input.<name>.txt`` with its ``STS.gs.<name>.txt``."""
    dirname, subsets = STS_SUBSETS[task]
    folder = Path(folder) / dirname
    rows = []
    for subset in subsets:
        input_path = folder / f"STS.input.{subset}.txt"
        gold_path = folder / f"STS.gs.{subset}.txt"
        inputs, golds = read_lines(input_path), read_lines(gold_path)
        if len(inputs) != len(golds):
            raise DataFormatError(
                gold_path, f"{len(golds)} lines, but {input_path.name} has {len(inputs)}: the files are not aligned"
            )
        for lineno, (pair, gold) in enumerate(zip(inputs, golds), start=1):
            sent1, sent2 = _fields(input_path, lineno, pair, 2)
            if gold.strip() == "":
                continue  # unscored pair, dropped as SentEval does
            rows.append(
                (
                    task,
                    subset,
                    "test",
                    normalise_sentence(sent1),
                    normalise_sentence(sent2),
                    _score(gold_path, lineno, gold.strip()),
                    lineno,
                )
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def parse_stsb(folder: str | Path) -> pd.DataFrame:
    """STS Benchmark (SentEval-processed ``sts-{train,dev,test}.csv``: 7 tab-separated fields)."""
    folder = Path(folder) / "STSBenchmark"
    rows = []
    for split in ("train", "dev", "test"):
        path = folder / f"sts-{split}.csv"
        for lineno, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                continue
            genre, _source, _year, _id, score, sent1, sent2 = _fields(path, lineno, line.strip(), 7)
            rows.append(
                (
                    "STSBenchmark",
                    genre,
                    split,
                    normalise_sentence(sent1),
                    normalise_sentence(sent2),
                    _score(path, lineno, score),
                    lineno,
                )
            )
    return pd.DataFrame(rows, columns=COLUMNS)


SICK_FILES = {"train": "SICK_train.txt", "dev": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
SICK_HEADER = ["pair_ID", "sentence_A", "sentence_B", "relatedness_score", "entailment_judgment"]


def parse_sick(folder: str | Path) -> pd.DataFrame:
    """SICK relatedness (SentEval-processed, header line, 5 tab-separated fields)."""
    folder = Path(folder)
    rows = []
    for split, name in SICK_FILES.items():
        path = folder / name
        lines = read_lines(path)
        if not lines or lines[0].strip().split("\t") != SICK_HEADER:
            raise DataFormatError(path, f"expected the header {'<TAB>'.join(SICK_HEADER)}", line=1)
        for lineno, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            _pair_id, sent1, sent2, score, _entailment = _fields(path, lineno, line.strip(), 5)
            rows.append(
                (
                    "SICKRelatedness",
                    "SICK",
                    split,
                    normalise_sentence(sent1),
                    normalise_sentence(sent2),
                    _score(path, lineno, score),
                    lineno,
                )
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def parse_sts_all(downstream: str | Path, tasks: tuple[str, ...] | list[str] = STS_TASKS) -> pd.DataFrame:
    """Every requested STS task from a SentEval ``downstream`` folder, as one tidy table."""
    downstream = Path(downstream)
    frames = []
    for task in tasks:
        if task in STS_SUBSETS:
            frames.append(parse_sts_year(downstream / "STS", task))
        elif task == "STSBenchmark":
            frames.append(parse_stsb(downstream / "STS"))
        elif task == "SICKRelatedness":
            frames.append(parse_sick(downstream / "SICK"))
        else:
            raise ValueError(f"unknown STS task {task!r}; valid: {', '.join(STS_TASKS)}")
    table = pd.concat(frames, ignore_index=True)
    table["score"] = table["score"].astype("float64")
    table["line"] = table["line"].astype("int64")
    return table
