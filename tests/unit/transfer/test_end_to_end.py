"""run_transfer end to end: a tiny deterministic encoder on small task subsets, the result's keys, the cache."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gradparadigm.data.transfer_tasks import COLUMNS, TRANSFER_TASKS, parse_transfer_tasks
from gradparadigm.evaluation.embedding_cache import EmbeddingCache
from gradparadigm.evaluation.transfer import run_transfer

TIMING_KEYS = {"seconds", "encode_seconds", "embeddings_from_cache"}


def _subset(table: pd.DataFrame, per_split: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """A stratified random subset of every (task, split), keeping each class present."""
    parts = []
    for (task, split), rows in table.groupby(["task", "split"], sort=False):
        n = per_split[split]
        frac = min(1.0, n / len(rows))
        parts.append(rows.groupby("label", group_keys=False).sample(frac=frac, random_state=seed))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def small_real_table(downstream):
    return _subset(parse_transfer_tasks(downstream), {"train": 150, "dev": 60, "test": 60})


def _without_timing(result: dict) -> dict:
    return {
        k: ({t: {m: v for m, v in r.items() if m not in TIMING_KEYS} for t, r in v.items()} if k == "tasks" else v)
        for k, v in result.items()
    }


# sklearn fits one model at a time: three tasks cover its three protocols (inner k-fold, split, k-fold)
@pytest.mark.parametrize("engine,tasks", [("torch", TRANSFER_TASKS), ("sklearn", ("CR", "SST2", "MRPC"))])
def test_tasks_on_real_subsets(small_real_table, tmp_path, engine, tasks, make_encoder):
    encoder = make_encoder()
    result = run_transfer(
        small_real_table,
        encoder,
        tasks=tasks,
        mode="fast",
        engine=engine,
        cache_dir=tmp_path,
        fingerprint="bow-32",
        progress=False,
    )
    json.dumps(result)  # JSON-ready
    assert result["engine"] == engine and result["mode"] == "fast" and result["settings"]["kfold"] == 5
    assert list(result["tasks"]) == list(tasks)
    reg = "l2" if engine == "torch" else "C"
    for task, scores in result["tasks"].items():
        assert 0 <= scores["acc"] <= 100 and 0 <= scores["devacc"] <= 100
        assert reg in scores and scores["embeddings_from_cache"] is False
        rows = small_real_table[small_real_table["task"] == task]
        assert scores["n_train"] == (rows["split"] == "train").sum()
        cross_validated = task in ("MR", "CR", "SUBJ", "MPQA")
        assert scores["n_test"] == (len(rows) if cross_validated else (rows["split"] == "test").sum())
    assert len(result["tasks"]["CR"][reg]) == 5  # one chosen value per outer fold
    assert 0 <= result["tasks"]["MRPC"]["f1"] <= 100
    assert result["avg"] == pytest.approx(np.mean([s["acc"] for s in result["tasks"].values()]), abs=0.006)
    assert encoder.calls == len(tasks)

    # the second run is served from the cache and gives the same numbers
    again = run_transfer(
        small_real_table,
        encoder,
        tasks=tasks,
        mode="fast",
        engine=engine,
        cache_dir=tmp_path,
        fingerprint="bow-32",
        progress=False,
    )
    assert encoder.calls == len(tasks) and all(s["embeddings_from_cache"] for s in again["tasks"].values())
    assert _without_timing(again) == _without_timing(result)


def _keyword_table() -> pd.DataFrame:
    """Every task with labels a bag-of-words model can read off (a class keyword), in the tidy layout."""
    rng = np.random.default_rng(0)
    filler = [f"w{i}" for i in range(200)]

    def sentence(keyword: str) -> str:
        words = list(rng.choice(filler, size=6)) + [keyword]
        rng.shuffle(words)
        return " ".join(words)

    rows = []
    sizes = {
        "MR": {"train": 160},
        "CR": {"train": 160},
        "SUBJ": {"train": 160},
        "MPQA": {"train": 160},
        "SST2": {"train": 160, "dev": 60, "test": 60},
        "TREC": {"train": 240, "test": 60},
        "MRPC": {"train": 160, "test": 60},
    }
    for task, splits in sizes.items():
        nclasses = 6 if task == "TREC" else 2
        for split, n in splits.items():
            for line in range(1, n + 1):
                label = line % nclasses
                if task == "MRPC":  # a paraphrase repeats the sentence; a non-paraphrase does not
                    first = sentence("k0")
                    second = first if label == 1 else sentence("k1")
                    rows.append((task, split, first, second, label, "f", line))
                else:
                    rows.append((task, split, sentence(f"k{label}"), None, label, "f", line))
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.mark.parametrize("engine,mode", [("torch", "fast"), ("sklearn", "fast"), ("torch", "test")])
def test_learnable_tasks_are_learned(engine, mode, make_encoder):
    tasks = TRANSFER_TASKS if mode == "fast" else ("CR", "TREC")
    result = run_transfer(
        _keyword_table(), make_encoder(dim=128), tasks=tasks, mode=mode, engine=engine, progress=False
    )
    accs = {task: scores["acc"] for task, scores in result["tasks"].items()}
    assert all(acc >= 90 for acc in accs.values()), accs
    if "MRPC" in accs:
        assert result["tasks"]["MRPC"]["f1"] >= 90
    assert result["settings"]["kfold"] == (5 if mode == "fast" else 10)


def test_changed_fingerprint_reencodes(tmp_path, make_encoder):
    table = _keyword_table()
    encoder = make_encoder()
    run_transfer(
        table,
        encoder,
        tasks=["TREC"],
        mode="fast",
        engine="sklearn",
        cache_dir=tmp_path,
        fingerprint="model-a",
        progress=False,
    )
    run_transfer(
        table,
        encoder,
        tasks=["TREC"],
        mode="fast",
        engine="sklearn",
        cache_dir=tmp_path,
        fingerprint="model-b",
        progress=False,
    )
    assert encoder.calls == 2
    assert len(list(tmp_path.glob("TREC-*.npy"))) == 2 and not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="fingerprint"):
        run_transfer(table, encoder, tasks=["TREC"], cache_dir=tmp_path, fingerprint=None, progress=False)


def test_cache_ignores_a_corrupt_entry_and_rewrites_it(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp")
    sentences = ["a b", "c"]
    path = cache.path("MR", sentences)
    path.write_bytes(b"not a numpy file")
    vectors, cached = cache.get_or_encode("MR", sentences, lambda s: np.ones((len(s), 3)))
    assert not cached and vectors.shape == (2, 3)
    vectors, cached = cache.get_or_encode("MR", sentences, lambda s: pytest.fail("must come from the cache"))
    assert cached and vectors.dtype == np.float32


def test_encoder_output_is_checked(make_encoder):
    table = _keyword_table()
    with pytest.raises(ValueError, match="expected \\(n_sentences, dim\\)"):
        run_transfer(table, lambda s: np.zeros((len(s) - 1, 4)), tasks=["CR"], progress=False)
    with pytest.raises(ValueError, match="unknown transfer task"):
        run_transfer(table, make_encoder(), tasks=["SST5"], progress=False)
    no_dev = table[~((table["task"] == "SST2") & (table["split"] == "dev"))]
    with pytest.raises(ValueError, match="SST2 needs the split"):
        run_transfer(no_dev, make_encoder(), tasks=["SST2"], progress=False)


def test_results_do_not_depend_on_the_tables_row_order(make_encoder):
    table = _keyword_table()
    # labels a keyword only half explains, so that folds and batches matter to the numbers
    table["label"] = np.where(np.arange(len(table)) % 3 == 0, 1 - table["label"].clip(upper=1), table["label"])
    shuffled = table.sample(frac=1.0, random_state=1).reset_index(drop=True)
    tasks = ("CR", "SST2", "MRPC")
    first = run_transfer(table, make_encoder(), tasks=tasks, mode="fast", engine="torch", progress=False)
    second = run_transfer(shuffled, make_encoder(), tasks=tasks, mode="fast", engine="torch", progress=False)
    assert _without_timing(first) == _without_timing(second)
    assert first["tasks"]["CR"]["acc"] < 95  # the noise is there: this is not a trivially perfect score
