"""Tables from checked results: paper order, mean ± std over seeds, the four formats, and every
way a result file can be wrong (each an error naming the file)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from reporting_testkit import run_dir, write_sts, write_transfer

from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.aggregate import aggregate
from gradparadigm.reporting.results import load_sts, load_transfer
from gradparadigm.reporting.tables import latex_escape

# (variant, base score) in the config's (not the paper's) order; seeds 0-2 add 0, 1, 2
SCORES = {
    "mhe-mod": 70.0,
    "untrained": 60.0,
    "mhe-no-gd": 66.0,
    "infonce": 75.0,
    "mhe-ori": 64.0,
    "bt-ori": 62.0,
    "bt-mod": 65.0,
}


def _markdown_rows(markdown: str, key: int = 1) -> dict[str, list[str]]:
    """The cells of a pipe table's body rows, by the cell in column ``key``."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")][2:]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return {row[key]: row for row in rows}


def _study_results(root, missing=()):
    """sts.json of m1 for every variant in SCORES (seeds 0-2, untrained: 0), minus ``missing`` runs."""
    paths = []
    for variant, base in SCORES.items():
        for seed in [0] if variant == "untrained" else [0, 1, 2]:
            if (variant, seed) not in missing:
                paths.append(write_sts(root, "m1", variant, seed, base + seed))
    return paths


def test_sts_table_paper_order_mean_std_and_a_missing_seed(tmp_path, study):
    paths = _study_results(tmp_path, missing={("bt-mod", 2)})
    aggregate(study, paths, [], [], tmp_path / "tables")

    csv = pd.read_csv(tmp_path / "tables" / "sts.csv")
    assert list(csv.variant) == ["untrained", "infonce", "mhe-ori", "mhe-mod", "mhe-no-gd", "bt-ori", "bt-mod"]
    assert [c for c in csv.columns if not c.endswith((" std", " n"))] == [
        "model",
        "variant",
        "n_seeds",
        "STS12",
        "STS13",
        "STS14",
        "STS15",
        "STS16",
        "STS-B",
        "SICK-R",
        "Avg.",
    ]
    mod = csv.set_index("variant").loc["mhe-mod"]
    assert mod["STS12"] == pytest.approx(71.0) and mod["STS12 std"] == pytest.approx(1.0) and mod["n_seeds"] == 3
    # Avg. is recomputed from the seven tasks (task i scores base + i): the file's -99 is ignored
    assert mod["Avg."] == pytest.approx(74.0)
    bt = csv.set_index("variant").loc["bt-mod"]
    assert bt["n_seeds"] == 2 and bt["STS12"] == pytest.approx(65.5)

    markdown = (tmp_path / "tables" / "sts.md").read_text()
    header = markdown.splitlines()[0]
    assert header.index("STS12") < header.index("STS-B") < header.index("SICK-R") < header.index("Avg.")
    rows = _markdown_rows(markdown)
    assert rows["mhe-mod"][:4] == ["m1", "mhe-mod", "3", "71.00 ± 1.00"]
    assert rows["bt-mod"][2:4] == ["2/3", "65.50 ± 0.71"]  # a missing seed: n shown, no crash
    assert rows["untrained"][2:4] == ["1", "60.00"]  # a baseline is evaluated once
    for setting in (
        "Spearman",
        "'all' setting",
        "cosine",
        "test splits",
        "m1 = packaged:all-MiniLM-L6-v2",
        "100 steps",
        "first 1000 sentences",
    ):
        assert setting in markdown
    tex = (tmp_path / "tables" / "sts.tex").read_text()
    assert r"mhe-mod & 3 & 71.00 $\pm$ 1.00" in tex and r"\toprule" in tex and r"\label{tab:sts}" in tex
    page = (tmp_path / "tables" / "sts.html").read_text()
    assert "<td>71.00 ± 1.00</td>" in page and "&#x27;all&#x27; setting" in page
    long = pd.read_csv(tmp_path / "tables" / "sts_long.csv")
    assert {"spearman", "pearson", "spearman_wmean"} <= set(long.metric) and "STS12/sub" in set(long.task)


def test_ori_vs_mod_and_ablation_tables(tmp_path, study):
    aggregate(study, _study_results(tmp_path, missing={("bt-mod", 2)}), [], [], tmp_path)
    table = pd.read_csv(tmp_path / "ori_vs_mod.csv")
    assert list(table.family) == ["mhe", "barlow_twins"]
    mhe = table.iloc[0]
    # averages: base + 3 + mean seed (1); Δ = difference of the means, ± its standard error
    assert (mhe.ori, mhe["mod"], mhe.delta) == pytest.approx((68.0, 74.0, 6.0))
    assert mhe["delta se"] == pytest.approx(math.sqrt(1 / 3 + 1 / 3), abs=1e-4)
    assert table.iloc[1]["mod n"] == 2 and table.iloc[1]["ori n"] == 3
    markdown = (tmp_path / "ori_vs_mod.md").read_text()
    assert _markdown_rows(markdown, key=1)["MHE"] == ["m1", "MHE", "68.00 ± 1.00", "74.00 ± 1.00", "3", "+6.00 ± 0.82"]
    assert "68.50 ± 0.71 (n=2)" in markdown  # bt-mod: fewer seeds than its row

    ablation = pd.read_csv(tmp_path / "ablation.csv")
    assert len(ablation) == 1 and ablation.iloc[0]["no_gd"] == pytest.approx(70.0)
    assert ablation.iloc[0]["no_gd delta"] == pytest.approx(-4.0) and math.isnan(ablation.iloc[0]["no_weight"])
    header = (tmp_path / "ablation.md").read_text().splitlines()[0]
    assert [h.strip() for h in header.strip("|").split("|")] == [
        "Model",
        "Loss",
        "mod",
        "Seeds",
        "no GD",
        "Δ",
        "no W",
        "Δ",
        "no R",
        "Δ",
    ]
    assert r"$\Delta$" in (tmp_path / "ablation.tex").read_text()


def test_tables_without_applicable_rows_hold_a_note(tmp_path, study):
    paths = [write_sts(tmp_path, "m1", "untrained", 0, 60.0), write_sts(tmp_path, "m1", "infonce", 0, 70.0)]
    aggregate(study, paths, [], [], tmp_path / "t")
    assert (tmp_path / "t" / "ablation.md").read_text().startswith("No ablation variant")
    assert "No ori/mod variant" in (tmp_path / "t" / "ori_vs_mod.html").read_text()
    assert r"\multicolumn{10}{l}{No ablation variant" in (tmp_path / "t" / "ablation.tex").read_text()
    assert pd.read_csv(tmp_path / "t" / "ablation.csv").empty
    # without a study description: the order given, no roles
    aggregate(None, paths[::-1], [], [], tmp_path / "u")
    assert list(pd.read_csv(tmp_path / "u" / "sts.csv").variant) == ["infonce", "untrained"]


def test_transfer_table(tmp_path, study):
    paths = [
        write_transfer(tmp_path, "m1", "mhe-mod", 0, 80.0),
        write_transfer(tmp_path, "m1", "mhe-mod", 1, 82.0),
        write_transfer(tmp_path, "m1", "untrained", 0, 70.0),
    ]
    aggregate(study, [], paths, [], tmp_path / "t")
    summary = pd.read_csv(tmp_path / "t" / "transfer.csv")
    assert list(summary.variant) == ["untrained", "mhe-mod"]  # the paper's order
    assert list(summary.columns[3::3]) == ["MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC", "Avg."]
    assert summary.loc[1, "MRPC"] == pytest.approx(87.0) and summary.loc[1, "Avg."] == pytest.approx(84.0)
    markdown = (tmp_path / "t" / "transfer.md").read_text()
    assert "82.00 ± 1.41" in markdown and "SentEval 'test' mode, torch logistic regression" in markdown
    assert set(pd.read_csv(tmp_path / "t" / "transfer_long.csv").metric) == {"acc", "devacc", "f1"}
    assert "torch" in (tmp_path / "t" / "provenance.md").read_text()


def test_expected_tasks_come_from_the_study(tmp_path, study):
    path = write_transfer(tmp_path, "m1", "infonce", 0, 80.0, tasks={"TREC": {"acc": 81.0}, "MRPC": {"acc": 71.0}})
    with pytest.raises(DataFormatError, match="expected task MR is missing"):
        load_transfer([path])
    study["eval"]["transfer_tasks"] = ["TREC", "MRPC"]
    aggregate(study, [], [path], [], tmp_path / "t")
    assert pd.read_csv(tmp_path / "t" / "transfer.csv").loc[0, "Avg."] == pytest.approx(76.0)


def test_two_results_of_one_run_are_an_error_naming_both(tmp_path):
    first = write_sts(tmp_path / "a", "m1", "infonce", 0, 70.0)
    second = write_sts(tmp_path / "b", "m1", "infonce", 0, 71.0)
    with pytest.raises(DataFormatError) as error:
        load_sts([first, second])
    assert str(first) in str(error.value) and str(second) in str(error.value)
    assert "model m1, variant infonce, seed 0" in str(error.value)


def test_meta_must_match_the_path(tmp_path):
    path = write_sts(tmp_path, "m1", "infonce", 0, 70.0)
    result = json.loads(path.read_text())
    result["meta"]["variant"] = "mhe-mod"
    path.write_text(json.dumps(result))
    with pytest.raises(
        DataFormatError,
        match=r"sts\.json: meta variant 'mhe-mod' does not match the path's "
        r"variant 'infonce'",
    ):
        load_sts([path])


@pytest.mark.parametrize(
    "value, problem",
    [
        (float("nan"), "not a finite number"),
        (1e9, "not a finite number"),
        ("71.2", "expected a number"),
        (None, "expected a number"),
        (True, "expected a number"),
    ],
)
def test_bad_scores_are_rejected(tmp_path, value, problem):
    path = write_sts(tmp_path, "m1", "infonce", 0, 70.0)
    result = json.loads(path.read_text())
    result["STS14"]["spearman"] = value
    path.write_text(json.dumps(result))
    with pytest.raises(DataFormatError, match=rf"sts\.json: STS14\.spearman: .*{problem}"):
        load_sts([path])


def test_malformed_files_are_rejected_naming_them(tmp_path):
    path = write_sts(tmp_path, "m1", "infonce", 0, 70.0)
    result = json.loads(path.read_text())
    del result["SICKRelatedness"]
    path.write_text(json.dumps(result))
    with pytest.raises(DataFormatError, match="expected task SICKRelatedness is missing"):
        load_sts([path])
    path.write_text("{not json")
    with pytest.raises(DataFormatError, match=r"sts\.json: cannot read result"):
        load_sts([path])
    path.write_text(json.dumps({"STS12": {"spearman": 1.0}, "meta": {"model": "m1"}}))
    with pytest.raises(DataFormatError, match=r"result lacks meta label\(s\) \['variant', 'seed'\]"):
        load_sts([path])
    stray = tmp_path / "sts.json"
    stray.write_text("{}")
    with pytest.raises(DataFormatError, match=r"expected a path ending in \{model\}/\{variant\}/seed~\{seed\}"):
        load_sts([stray])
    transfer = write_transfer(tmp_path, "m1", "infonce", 0, 80.0)
    result = json.loads(transfer.read_text())
    result["tasks"]["MRPC"]["acc"] = 105.0
    transfer.write_text(json.dumps(result))
    with pytest.raises(DataFormatError, match=r"tasks\.MRPC\.acc: 105\.0 is not a finite number in \[0, 100\]"):
        load_transfer([transfer])


def test_results_outside_the_study_are_rejected(tmp_path, study):
    path = write_sts(tmp_path, "m1", "old-variant", 0, 70.0)
    with pytest.raises(DataFormatError, match="variant 'old-variant' is not in the study"):
        aggregate(study, [path], [], [], tmp_path / "t")
    assert run_dir(tmp_path, "m1", "old-variant", 0).is_dir()


def test_latex_escape():
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
