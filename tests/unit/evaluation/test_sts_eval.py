"""STS scoring: the SentEval aggregates (all vs mean vs wmean) and the evaluation driver."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from gradparadigm.data.sts import STS_TASKS
from gradparadigm.evaluation.sts import aggregate_subsets, cosine_rows, evaluate_sts, stsb_dev_spearman


def test_all_mean_and_wmean_differ_on_a_toy_example():
    # Subset A ranks perfectly (rho = 1, n = 3); subset B is reversed (rho = -1, n = 2).
    # mean  = (1 + -1) / 2 = 0;  wmean = (3*1 + 2*-1) / 5 = 0.2
    # all   : system (.1 .2 .3 .8 .9) vs gold (1 2 3 5 4): rank differences (0 0 0 1 1),
    #         rho = 1 - 6*2 / (5*(25-1)) = 0.9
    result = aggregate_subsets(
        {
            "A": (np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])),
            "B": (np.array([0.8, 0.9]), np.array([5.0, 4.0])),
        }
    )
    assert result["spearman"] == pytest.approx(90.0)
    assert result["spearman_all"] == pytest.approx(90.0)
    assert result["spearman_mean"] == pytest.approx(0.0)
    assert result["spearman_wmean"] == pytest.approx(20.0)
    assert result["subsets"]["A"]["spearman"] == pytest.approx(100.0)
    assert result["subsets"]["B"] == {"pearson": pytest.approx(-100.0), "spearman": pytest.approx(-100.0), "n": 2}
    assert result["n"] == 5


def test_cosine_rows_handles_zero_vectors():
    a = np.array([[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    b = np.array([[2.0, 0.0], [1.0, 1.0], [-3.0, -4.0]])
    np.testing.assert_allclose(cosine_rows(a, b), [1.0, 0.0, -1.0])


def _toy_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    rows = []
    for task in STS_TASKS:
        subsets = ["s1", "s2"] if task.startswith("STS1") else [task]
        for split in ("dev", "test") if not task.startswith("STS1") else ("test",):
            for subset in subsets:
                for k in range(12):
                    s1 = " ".join(rng.choice(words, 4))
                    s2 = " ".join(rng.choice(words, 4))
                    rows.append((task, subset, split, s1, s2, float(rng.uniform(0, 5)), k + 1))
    rows.append(("STS12", "s1", "test", "w1 w2", "w1 w2", 5.0, 99))  # a repeated sentence
    rows.append(("STS13", "s1", "test", "w1 w2", "w3", 0.0, 99))
    return pd.DataFrame(rows, columns=["task", "subset", "split", "sentence1", "sentence2", "score", "line"])


def _bag_of_words(sentences: list[str]) -> np.ndarray:
    vectors = np.zeros((len(sentences), 30))
    for i, sentence in enumerate(sentences):
        for word in sentence.split():
            vectors[i, int(word[1:])] += 1
    return vectors


def test_evaluate_sts_encodes_each_sentence_once_and_scores_like_scipy():
    table = _toy_table()
    calls = []

    def encode(sentences):
        calls.append(list(sentences))
        return _bag_of_words(sentences)

    results = evaluate_sts(table, encode)
    assert len(calls) == 1 and len(calls[0]) == len(set(calls[0]))
    test = table[table.split == "test"]
    assert set(calls[0]) == set(test.sentence1) | set(test.sentence2)  # dev sentences not encoded
    for task in ("STSBenchmark", "SICKRelatedness"):
        part = test[test.task == task]
        expected = (
            spearmanr(
                cosine_rows(_bag_of_words(list(part.sentence1)), _bag_of_words(list(part.sentence2))), part.score
            )[0]
            * 100
        )
        assert results[task]["spearman"] == pytest.approx(expected)
    part = test[test.task == "STS12"]
    pooled = (
        spearmanr(cosine_rows(_bag_of_words(list(part.sentence1)), _bag_of_words(list(part.sentence2))), part.score)[0]
        * 100
    )
    assert results["STS12"]["spearman"] == pytest.approx(pooled)
    assert set(results["STS12"]["subsets"]) == {"s1", "s2"}
    assert results["avg"]["spearman"] == pytest.approx(np.mean([results[t]["spearman"] for t in STS_TASKS]))


def test_stsb_dev_uses_only_the_dev_split():
    table = _toy_table()
    dev = table[(table.task == "STSBenchmark") & (table.split == "dev")]
    expected = (
        spearmanr(cosine_rows(_bag_of_words(list(dev.sentence1)), _bag_of_words(list(dev.sentence2))), dev.score)[0]
        * 100
    )
    assert stsb_dev_spearman(table, _bag_of_words) == pytest.approx(expected)


def test_unknown_or_missing_tasks_are_errors():
    table = _toy_table()
    with pytest.raises(ValueError, match="unknown STS task"):
        evaluate_sts(table, _bag_of_words, tasks=["STS99"])
    with pytest.raises(ValueError, match="no test rows for \\['STS16'\\]"):
        evaluate_sts(table[table.task != "STS16"], _bag_of_words, tasks=["STS12", "STS16"])
