"""STS parsers on the real mirror files, and their error paths on broken copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gradparadigm.data.sts import STS_TASKS, parse_sick, parse_sts_all, parse_sts_year, parse_stsb
from gradparadigm.errors import DataFormatError


@pytest.fixture(scope="module")
def sts_table(downstream):
    return parse_sts_all(downstream)


def test_row_counts_match_the_mirror_readme(sts_table):
    counts = sts_table.groupby(["task", "split"]).size().to_dict()
    assert counts == {
        ("STS12", "test"): 3108,
        ("STS13", "test"): 1500,
        ("STS14", "test"): 3750,
        ("STS15", "test"): 3000,
        ("STS16", "test"): 1186,
        ("STSBenchmark", "train"): 5749,
        ("STSBenchmark", "dev"): 1500,
        ("STSBenchmark", "test"): 1379,
        ("SICKRelatedness", "train"): 4500,
        ("SICKRelatedness", "dev"): 500,
        ("SICKRelatedness", "test"): 4927,
    }


def test_subsets_follow_senteval(sts_table):
    per_subset = sts_table[sts_table.task.isin(["STS12", "STS13", "STS16"])].groupby(["task", "subset"]).size()
    assert per_subset["STS12"].to_dict() == {
        "MSRpar": 750,
        "MSRvid": 750,
        "SMTeuroparl": 459,
        "surprise.OnWN": 750,
        "surprise.SMTnews": 399,
    }
    assert set(per_subset["STS13"].index) == {"FNWN", "headlines", "OnWN"}  # no SMT subset
    # STS16 keeps only the scored pairs of each file
    assert per_subset["STS16"].to_dict() == {
        "answer-answer": 254,
        "headlines": 249,
        "plagiarism": 230,
        "postediting": 244,
        "question-question": 209,
    }


def test_columns_types_and_values(sts_table):
    assert list(sts_table.columns) == ["task", "subset", "split", "sentence1", "sentence2", "score", "line"]
    assert set(sts_table.task) == set(STS_TASKS)
    assert sts_table.score.dtype == "float64"
    stsb = sts_table[sts_table.task == "STSBenchmark"]
    assert stsb.score.between(0, 5).all()
    sick = sts_table[sts_table.task == "SICKRelatedness"]
    assert sick.score.between(1, 5).all()
    # whitespace is normalised the way SentEval's split() + the batcher's join do it
    assert not sts_table.sentence1.str.contains(r"\s\s|\t|^\s|\s$", regex=True).any()


def test_first_rows_are_the_files_first_rows(sts_table):
    first = sts_table[(sts_table.task == "STSBenchmark") & (sts_table.split == "test")].iloc[0]
    assert (first.sentence1, first.sentence2, first.score, first.line) == (
        "a girl is styling her hair .",
        "a girl is brushing her hair .",
        2.5,
        1,
    )
    sick = sts_table[(sts_table.task == "SICKRelatedness") & (sts_table.split == "test")].iloc[0]
    assert sick.line == 2 and sick.score == 3.3  # line 1 is the header


def _copy_sts(downstream: Path, tmp_path: Path) -> Path:
    target = tmp_path / "downstream"
    shutil.copytree(downstream / "STS", target / "STS")
    shutil.copytree(downstream / "SICK", target / "SICK")
    return target


def _rewrite_line(path: Path, lineno: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[lineno - 1] = new
    path.write_text("\n".join(lines), encoding="utf-8")


def test_wrong_field_count_names_file_and_line(downstream, tmp_path):
    root = _copy_sts(downstream, tmp_path)
    bad = root / "STS" / "STS13-en-test" / "STS.input.headlines.txt"
    _rewrite_line(bad, 7, "only one field here")
    message = r"STS\.input\.headlines\.txt:7: expected 2 tab-separated fields, found 1"
    with pytest.raises(DataFormatError, match=message):
        parse_sts_year(root / "STS", "STS13")


def test_non_numeric_score_names_file_and_line(downstream, tmp_path):
    root = _copy_sts(downstream, tmp_path)
    bad = root / "STS" / "STSBenchmark" / "sts-dev.csv"
    fields = bad.read_text(encoding="utf-8").split("\n")[41].split("\t")
    fields[4] = "four"
    _rewrite_line(bad, 42, "\t".join(fields))
    with pytest.raises(DataFormatError, match=r"sts-dev\.csv:42: score 'four' is not a number"):
        parse_stsb(root / "STS")


def test_sick_bad_score_and_header(downstream, tmp_path):
    root = _copy_sts(downstream, tmp_path)
    bad = root / "SICK" / "SICK_trial.txt"
    _rewrite_line(bad, 3, "7\ta b\tc d\tnan-ish\tNEUTRAL")
    with pytest.raises(DataFormatError, match=r"SICK_trial\.txt:3: score 'nan-ish' is not a number"):
        parse_sick(root / "SICK")
    _rewrite_line(bad, 1, "id\ta\tb")
    with pytest.raises(DataFormatError, match=r"SICK_trial\.txt:1: expected the header"):
        parse_sick(root / "SICK")


def test_missing_and_misaligned_files(downstream, tmp_path):
    root = _copy_sts(downstream, tmp_path)
    gold = root / "STS" / "STS12-en-test" / "STS.gs.MSRvid.txt"
    _rewrite_line(gold, 750, "")  # keeps the line count: an empty gold score drops the pair
    assert len(parse_sts_year(root / "STS", "STS12")) == 3107
    gold.write_text("\n".join(gold.read_text().split("\n")[:100]) + "\n")
    with pytest.raises(DataFormatError, match=r"STS\.gs\.MSRvid\.txt: 100 lines, but STS\.input\.MSRvid\.txt has 750"):
        parse_sts_year(root / "STS", "STS12")
    (root / "STS" / "STS14-en-test" / "STS.gs.images.txt").unlink()
    with pytest.raises(DataFormatError, match=r"STS\.gs\.images\.txt: missing file"):
        parse_sts_year(root / "STS", "STS14")


def test_unknown_task_is_rejected(downstream):
    with pytest.raises(ValueError, match="unknown STS task 'STS17'"):
        parse_sts_all(downstream, ["STS17"])
