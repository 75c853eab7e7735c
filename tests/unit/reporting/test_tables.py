"""Result tables: paper column order, mean ± std over seeds, the three formats."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.tables import latex_escape, write_sts_tables, write_transfer_tables

TASKS = ["STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICKRelatedness"]


def _result(path, model, variant, seed, base):
    result = {task: {"spearman": base + i, "pearson": base + i + 0.5, "n": 10} for i, task in enumerate(TASKS)}
    result["STS12"]["subsets"] = {"MSRpar": {"spearman": 1.0, "pearson": 2.0, "n": 5}}
    result["avg"] = {"spearman": base + 3}
    result["meta"] = {"model": model, "variant": variant, "seed": str(seed)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return path


def test_tables_average_seeds_in_paper_order(tmp_path):
    paths = [
        _result(tmp_path / "a0.json", "minilm", "info_nce", 0, 70.0),
        _result(tmp_path / "a1.json", "minilm", "info_nce", 1, 72.0),
        _result(tmp_path / "b0.json", "minilm", "untrained", 0, 60.0),
    ]
    summary = write_sts_tables(paths, tmp_path / "tables" / "sts")
    assert list(summary.columns[2:-1:2]) == ["STS12", "STS13", "STS14", "STS15", "STS16", "STS-B", "SICK-R", "Avg."]
    row = summary[summary.variant == "info_nce"].iloc[0]
    assert row["STS12"] == pytest.approx(71.0) and row["STS12 std"] == pytest.approx(1.41421356)
    assert row["n_seeds"] == 2

    markdown = (tmp_path / "tables" / "sts.md").read_text()
    header = markdown.splitlines()[0]
    assert header.index("STS12") < header.index("STS-B") < header.index("SICK-R") < header.index("Avg.")
    assert "71.00 ± 1.41" in markdown and "| 60.00 " in markdown  # one seed: no ± part
    assert "'all' setting" in markdown  # the evaluation setting is stated

    tex = (tmp_path / "tables" / "sts.tex").read_text()
    assert r"info\_nce" in tex and r"71.00 $\pm$ 1.41" in tex and r"\toprule" in tex and r"\label{tab:sts}" in tex

    csv = pd.read_csv(tmp_path / "tables" / "sts.csv")
    assert len(csv) == 2 and "SICK-R std" in csv.columns
    long = pd.read_csv(tmp_path / "tables" / "sts_long.csv")
    assert {"spearman", "pearson"} <= set(long.metric)
    assert "STS12/MSRpar" in set(long.task)
    assert len(long[(long.task == "STS12") & (long.metric == "spearman")]) == 3


def test_results_without_labels_are_rejected(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"STS12": {"spearman": 1.0}, "meta": {"model": "m"}}))
    with pytest.raises(DataFormatError, match=r"x\.json: result lacks meta label\(s\) \['variant', 'seed'\]"):
        write_sts_tables([path], tmp_path / "sts")
    path.write_text("{not json")
    with pytest.raises(DataFormatError, match="cannot read result"):
        write_sts_tables([path], tmp_path / "sts")


def test_latex_escape():
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"


def _transfer(path, variant, seed, base, mode="test", engine="torch"):
    tasks = {task: {"acc": base + i, "devacc": base + i + 1} for i, task in
             enumerate(["MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC"])}
    tasks["MRPC"]["f1"] = 80.0
    result = {"mode": mode, "engine": engine, "tasks": tasks, "avg": base + 3,
              "meta": {"model": "m", "variant": variant, "seed": str(seed)}}
    path.write_text(json.dumps(result))
    return path


def test_transfer_tables(tmp_path):
    paths = [_transfer(tmp_path / "a.json", "v1", 0, 80.0), _transfer(tmp_path / "b.json", "v1", 1, 82.0),
             _transfer(tmp_path / "c.json", "base", 0, 70.0)]
    summary = write_transfer_tables(paths, tmp_path / "transfer")
    assert list(summary.variant) == ["v1", "base"]  # the order the runs were given
    assert list(summary.columns[2:-1:2]) == ["MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC", "Avg."]
    assert summary.loc[0, "MRPC"] == pytest.approx(87.0) and summary.loc[0, "Avg."] == pytest.approx(84.0)
    markdown = (tmp_path / "transfer.md").read_text()
    assert "82.00 ± 1.41" in markdown and "SentEval 'test' mode, torch logistic regression" in markdown
    long = pd.read_csv(tmp_path / "transfer_long.csv")
    assert set(long.metric) == {"acc", "devacc", "f1"}
