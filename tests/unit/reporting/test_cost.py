"""The cost table: Snakemake benchmark files summed per rule; per-run rules only for the given runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.cost import benchmark_files, cost_frame, cost_table, read_benchmark

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root: Path, relative: str, seconds: float, rss: float = 100.0, cpu: float | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t90.0\t{cpu if cpu is not None else seconds}\n")
    return path


@pytest.fixture()
def benchmarks(tmp_path) -> Path:
    root = tmp_path / "benchmarks"
    bench(root, "train/m/a/seed~0.tsv", 120, rss=2000)
    bench(root, "train/m/a/seed~1.tsv", 180, rss=2100)
    bench(root, "train/m/b/seed~0.tsv", 600)
    bench(root, "eval_sts/m/a/seed~0.tsv", 30)
    bench(root, "augment/m/dropout-len32-abc.tsv", 12)
    bench(root, "fetch_corpus.tsv", 1.5)
    return root


def test_every_rule_summed(benchmarks):
    frame = cost_frame(benchmark_files(benchmarks))
    assert list(frame["rule"]) == ["fetch_corpus", "augment", "train", "eval_sts"]  # pipeline order
    train = frame.set_index("rule").loc["train"]
    assert train["jobs"] == 3 and train["wall_total_min"] == pytest.approx(15.0)
    assert (train["wall_min_s"], train["wall_max_s"], train["max_rss_mib"]) == (120, 600, 2100)
    assert train["wall_mean_s"] == pytest.approx(300.0)


def test_per_run_rules_count_only_the_given_runs(benchmarks):
    frame = cost_frame(benchmark_files(benchmarks, runs=[("m", "a", 0), ("m", "a", 1)])).set_index("rule")
    assert frame.loc["train", "jobs"] == 2 and frame.loc["train", "wall_total_min"] == pytest.approx(5.0)
    assert frame.loc["augment", "jobs"] == 1  # not a per-run rule: counted whatever the runs


def test_table_rows_and_total(benchmarks):
    table = cost_table(benchmarks)
    assert table.rows[-1][:3] == ["all rules", "6", "15.7"]  # (1.5 + 12 + 120 + 180 + 600 + 30) / 60
    assert table.rows[2][0] == "train" and table.rows[2][4] == "120.0–600.0"
    assert cost_table(benchmarks.parent / "none").rows == []  # no benchmarks yet: the note


def test_a_bad_file_names_itself(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("hello\n1\n")
    with pytest.raises(DataFormatError, match="train.tsv: not a Snakemake benchmark file"):
        read_benchmark(path)
