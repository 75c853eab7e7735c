"""Transfer-task parsers: the real mirror files (counts, labels, text) and malformed input (file:line errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradparadigm.data.transfer_tasks import (
    EXPECTED_ROWS,
    TRANSFER_TASKS,
    parse_binary,
    parse_mrpc,
    parse_sst2,
    parse_transfer_tasks,
    parse_trec,
)
from gradparadigm.errors import DataFormatError


@pytest.fixture(scope="module")
def table(downstream):
    return parse_transfer_tasks(downstream)


def test_row_counts_match_the_mirror_readme(table):
    counts = table.groupby(["task", "split"]).size().to_dict()
    # the mirror README's "Counts" table, written out again here rather than read from the module
    assert counts == {
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
    assert counts == EXPECTED_ROWS
    assert sorted(table["task"].unique()) == sorted(TRANSFER_TASKS)


def test_label_conventions_on_the_real_files(table):
    per_label = table.groupby(["task", "label"]).size().to_dict()
    assert per_label[("MR", 1)] == per_label[("MR", 0)] == 5331
    assert (per_label[("CR", 1)], per_label[("CR", 0)]) == (2407, 1368)  # custrev.pos / .neg lines
    assert (per_label[("MPQA", 1)], per_label[("MPQA", 0)]) == (3312, 7294)
    assert per_label[("SUBJ", 1)] == per_label[("SUBJ", 0)] == 5000
    subj = table[table["task"] == "SUBJ"]
    assert set(subj.loc[subj["label"] == 1, "file"]) == {"subj.objective"}  # SentEval's "pos" is objective
    trec_train = table[(table["task"] == "TREC") & (table["split"] == "train")]
    assert trec_train["label"].value_counts().sort_index().tolist() == [86, 1162, 1250, 1223, 835, 896]
    mrpc_train = table[(table["task"] == "MRPC") & (table["split"] == "train")]
    assert mrpc_train["label"].value_counts().to_dict() == {1: 2753, 0: 1323}


def test_first_rows_and_text_normalisation(table):
    trec = table[table["task"] == "TREC"].iloc[0]
    assert trec["sentence1"] == "How did serfdom develop in and then leave Russia ?"
    assert (trec["label"], trec["line"]) == (1, 1)  # DESC
    mrpc = table[table["task"] == "MRPC"].iloc[0]
    assert mrpc["line"] == 2  # line 1 is the header (after a BOM)
    assert mrpc["sentence1"].startswith("Amrozi accused his brother")
    assert mrpc["sentence2"].startswith("Referring to him")
    sst = table[table["task"] == "SST2"].iloc[0]
    assert (sst["sentence1"], sst["label"]) == ("hide new secretions from the parental units", 0)
    single = table[table["task"] != "MRPC"]
    assert single["sentence2"].isna().all()
    for column in ("sentence1",):
        text = table[column]
        assert not text.str.contains("  ").any() and (text == text.str.strip()).all()
    # empty lines are kept as empty sentences, as SentEval's splitlines() keeps them (CR 4, MPQA 3)
    empty = table[table["sentence1"] == ""].groupby("task").size().to_dict()
    assert empty == {"CR": 4, "MPQA": 3}


def test_trec_keeps_the_latin1_byte(downstream):
    trec = parse_trec(downstream)
    assert trec["sentence1"].str.contains("\u00f0").sum() == 1  # the one 0xF0 byte of train_5500.label


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataFormatError, match=r"rt-polarity\.pos: missing file"):
        parse_binary(tmp_path, "MR")


def test_sst2_wrong_field_count_gives_file_and_line(tmp_path):
    folder = tmp_path / "SST" / "binary"
    _write(folder / "sentiment-train", "good movie\t1\nbad movie 0\n")
    _write(folder / "sentiment-dev", "fine\t1\n")
    _write(folder / "sentiment-test", "fine\t1\n")
    with pytest.raises(DataFormatError) as err:
        parse_sst2(tmp_path)
    assert f"{folder / 'sentiment-train'}:2:" in str(err.value) and "2 tab-separated fields" in str(err.value)


def test_sst2_unknown_label(tmp_path):
    folder = tmp_path / "SST" / "binary"
    _write(folder / "sentiment-train", "good movie\t1\n")
    _write(folder / "sentiment-dev", "fine\t1\nmeh\t3\n")
    _write(folder / "sentiment-test", "fine\t1\n")
    with pytest.raises(DataFormatError, match=r"sentiment-dev:2: label '3'"):
        parse_sst2(tmp_path)


def test_trec_unknown_coarse_label_and_bad_line(tmp_path):
    folder = tmp_path / "TREC"
    _write(folder / "train_5500.label", "DESC:manner How are you ?\nFOO:bar What ?\n")
    _write(folder / "TREC_10.label", "NUM:date When ?\n")
    with pytest.raises(DataFormatError, match=r"train_5500\.label:2: unknown coarse label 'FOO'"):
        parse_trec(tmp_path)
    _write(folder / "train_5500.label", "DESC:manner How are you ?\nno colon here\n")
    with pytest.raises(DataFormatError, match=r"train_5500\.label:2: expected 'COARSE:fine question'"):
        parse_trec(tmp_path)


def test_mrpc_header_bom_and_rows(tmp_path):
    folder = tmp_path / "MRPC"
    header = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
    _write(folder / "msr_paraphrase_train.txt", header + "1\t1\t2\tA  b .\tc d\n0\t3\t4\te\tf\n")
    _write(folder / "msr_paraphrase_test.txt", header + "1\t5\t6\tg\th\n")
    mrpc = parse_mrpc(tmp_path)
    assert mrpc[["split", "sentence1", "sentence2", "label", "line"]].values.tolist() == [
        ["train", "A b .", "c d", 1, 2],
        ["train", "e", "f", 0, 3],
        ["test", "g", "h", 1, 2],
    ]
    _write(folder / "msr_paraphrase_test.txt", "1\t5\t6\tg\th\n")  # header missing
    with pytest.raises(DataFormatError, match=r"msr_paraphrase_test\.txt:1: expected the header"):
        parse_mrpc(tmp_path)
    _write(folder / "msr_paraphrase_test.txt", header + "1\t5\t6\tg\n")
    with pytest.raises(DataFormatError, match=r"msr_paraphrase_test\.txt:2: expected 5 tab-separated fields, found 4"):
        parse_mrpc(tmp_path)
    _write(folder / "msr_paraphrase_test.txt", header + "yes\t5\t6\tg\th\n")
    with pytest.raises(DataFormatError, match=r"msr_paraphrase_test\.txt:2: label 'yes'"):
        parse_mrpc(tmp_path)


def test_invalid_utf8_gives_the_line(tmp_path):
    folder = tmp_path / "SST" / "binary"
    _write(folder / "sentiment-train", b"good\t1\nbad \xff\t0\n")
    _write(folder / "sentiment-dev", "fine\t1\n")
    _write(folder / "sentiment-test", "fine\t1\n")
    with pytest.raises(DataFormatError, match=r"sentiment-train:2: not valid utf-8"):
        parse_sst2(tmp_path)


def test_binary_order_labels_and_count_check(tmp_path):
    _write(tmp_path / "SUBJ" / "subj.objective", "the film is set in 1920 .\n\nit stars two actors .\n")
    _write(tmp_path / "SUBJ" / "subj.subjective", "a  dull ,  lifeless movie .\n")
    subj = parse_binary(tmp_path, "SUBJ")
    assert subj[["sentence1", "label", "file", "line"]].values.tolist() == [
        ["the film is set in 1920 .", 1, "subj.objective", 1],
        ["", 1, "subj.objective", 2],
        ["it stars two actors .", 1, "subj.objective", 3],
        ["a dull , lifeless movie .", 0, "subj.subjective", 1],
    ]
    with pytest.raises(DataFormatError, match=r"SUBJ train has 4 rows; the SentEval data has 10000"):
        parse_transfer_tasks(tmp_path, ["SUBJ"])
    assert len(parse_transfer_tasks(tmp_path, ["SUBJ"], check_counts=False)) == 4
    with pytest.raises(ValueError, match="unknown transfer task 'SST5'"):
        parse_transfer_tasks(tmp_path, ["SST5"], check_counts=False)
