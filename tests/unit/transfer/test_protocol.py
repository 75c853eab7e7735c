"""SentEval's protocol: folds, row order, grid selection (scripted and real engines), MRPC features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from gradparadigm.evaluation.classifiers import FitGroup, SklearnLogReg, TorchLogReg
from gradparadigm.evaluation.transfer import (
    _task_arrays,
    inner_kfold_eval,
    kfold_eval,
    mrpc_features,
    senteval_order,
    split_eval,
    stratified_folds,
)


# -- folds --------------------------------------------------------------------------------------------
def test_folds_are_a_stratified_partition():
    y = np.array([0] * 73 + [1] * 41 + [2] * 12)
    folds = stratified_folds(y, 10, 1111)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(len(y)))  # every row is tested exactly once
    for train, test in folds:
        assert set(train).isdisjoint(test) and len(train) + len(test) == len(y)
        for label, total in zip(*np.unique(y, return_counts=True)):
            assert abs((y[test] == label).sum() - total / 10) < 1  # each class spread evenly over the folds


def test_folds_are_reproducible_and_seeded():
    y = np.random.default_rng(3).integers(0, 2, size=200)
    first, again = stratified_folds(y, 5, 1111), stratified_folds(y, 5, 1111)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    other = stratified_folds(y, 5, 7)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other))
    unshuffled = [np.arange(i * 40, (i + 1) * 40) for i in range(5)]
    assert not all(np.array_equal(test, plain) for (_, test), plain in zip(first, unshuffled))


# -- SentEval's row order -----------------------------------------------------------------------------
def test_senteval_order_sorts_by_tokens_then_label_from_file_order():
    rows = pd.DataFrame(
        {
            "task": "MR",
            "split": "train",
            "sentence1": ["a b c", "a", "x y", "z", "q r"],
            "label": [1, 1, 0, 0, 1],
            "line": [1, 2, 1, 2, 3],
        }
    )
    # SentEval: pos + neg = [a b c, a, q r, x y, z]; sorted by (tokens, label), stable
    expected = ["z", "a", "x y", "q r", "a b c"]
    assert rows["sentence1"].to_numpy()[senteval_order(rows)].tolist() == expected
    shuffled = rows.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert shuffled["sentence1"].to_numpy()[senteval_order(shuffled)].tolist() == expected


def test_senteval_order_for_mrpc_uses_both_lengths():
    rows = pd.DataFrame(
        {
            "task": "MRPC",
            "split": "train",
            "sentence1": ["a b", "a b", "c", "d e"],
            "sentence2": ["x y z", "x", "y", "x"],
            "label": [0, 1, 1, 0],
            "line": [2, 3, 4, 5],
        }
    )
    # keys (tokens A, tokens B, label): row0 (2,3,0), row1 (2,1,1), row2 (1,1,1), row3 (2,1,0)
    assert senteval_order(rows).tolist() == [2, 3, 1, 0]


# -- grid selection with a scripted engine: the best value is known because the engine says so ------------
@dataclass
class ScriptedEngine:
    """Predicts every row right with ``best`` (and with ``also_best``), half of them with any other value."""

    regs: tuple[float, ...]
    best: float
    also_best: float | None = None
    name = "scripted"
    reg_name = "l2"

    def __post_init__(self):
        self.calls: list[list[FitGroup]] = []

    def grid(self, kind):
        return self.regs

    def fit_predict(self, X, y, nclasses, groups, desc=""):
        self.calls.append(list(groups))
        out = []
        for group in groups:
            truth = y[group.predict]
            half_wrong = truth.copy()
            half_wrong[::2] = (truth[::2] + 1) % nclasses
            out.append(np.stack([truth if reg in (self.best, self.also_best) else half_wrong for reg in group.regs]))
        return out

    def describe(self):
        return {"engine": self.name}


def _labels(n=120, nclasses=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, nclasses, size=n)


@pytest.mark.parametrize("best", [1e-5, 1e-3, 1e-2])
def test_inner_kfold_selects_the_best_value_in_every_outer_fold(best):
    X, y = _labels()
    engine = ScriptedEngine((1e-5, 1e-4, 1e-3, 1e-2), best)
    result = inner_kfold_eval(X, y, 2, engine, kfold=5)
    assert result["l2"] == [best] * 5
    assert result["acc"] == 100.0 and result["devacc"] == 100.0
    inner_call, refit_call = engine.calls
    assert len(inner_call) == 25 and len(refit_call) == 5
    outer = stratified_folds(y, 5, 1111)
    for o, (train, test) in enumerate(outer):
        for group in inner_call[5 * o : 5 * o + 5]:  # inner folds only ever see the outer training rows
            assert set(group.train) | set(group.predict) <= set(train)
            np.testing.assert_array_equal(group.valid, group.predict)  # early stopping on the inner test fold
        refit = refit_call[o]
        assert refit.regs == (best,) and refit.valid is None  # validation_split, as SentEval's refit
        np.testing.assert_array_equal(refit.train, train)
        np.testing.assert_array_equal(refit.predict, test)


def test_first_of_equal_scores_wins():
    X, y = _labels()
    engine = ScriptedEngine((1e-5, 1e-4, 1e-3, 1e-2), best=1e-3, also_best=1e-4)
    assert inner_kfold_eval(X, y, 2, engine, kfold=3)["l2"] == [1e-4] * 3
    result, _ = kfold_eval(X[:80], y[:80], X[80:], y[80:], 2, engine, kfold=4)
    assert result["l2"] == 1e-4


def test_kfold_selects_on_train_folds_then_refits_on_all_of_train():
    X, y = _labels(n=150, nclasses=3)
    engine = ScriptedEngine((0.5, 1.0, 2.0, 4.0), best=2.0)
    result, yhat = kfold_eval(X[:100], y[:100], X[100:], y[100:], 3, engine, kfold=10, seed=1111)
    assert result == {"acc": 100.0, "devacc": 100.0, "l2": 2.0}
    np.testing.assert_array_equal(yhat, y[100:])
    cv_call, refit_call = engine.calls
    assert all(g.predict.max() < 100 for g in cv_call)  # the test set is never used to choose
    assert refit_call[0].regs == (2.0,) and refit_call[0].train.tolist() == list(range(100))
    assert refit_call[0].predict.tolist() == list(range(100, 150))


def test_split_chooses_on_dev_and_reports_that_model_on_test():
    X, y = _labels(n=100)
    engine = ScriptedEngine((0.25, 0.5, 1.0), best=0.5)
    result = split_eval(X[:60], y[:60], X[60:80], y[60:80], X[80:], y[80:], 2, engine)
    assert result == {"acc": 100.0, "devacc": 100.0, "l2": 0.5}
    (group,) = engine.calls[0]
    assert group.valid.tolist() == list(range(60, 80)) and group.train.tolist() == list(range(60))


# -- real engines: a grid holding values that must fail (known by construction) -----------------------
def _offset_blobs(n=400, seed=0):
    """Two separable classes (70/30) far from the origin: only a well-fitted weight *and* bias separate them."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    X = np.stack([6.0 + np.where(y == 1, 1.0, -1.0) + 0.2 * rng.normal(size=n), 0.2 * rng.normal(size=n)], 1)
    return X.astype(np.float32), y


class TorchWithGrid(TorchLogReg):
    def grid(self, kind):
        # weight decay 10 or 30 pins weight and bias near zero, where the model predicts the majority class
        return (10.0, 1e-5, 30.0)


class SklearnWithGrid(SklearnLogReg):
    def grid(self, kind):
        # C = 1e-6 or 1e-7 leaves only the (unpenalised) intercept: the model predicts the majority class
        return (1e-6, 1.0, 1e-7)


# 25 passes per epoch: the decay reaches its fixed point before the first early-stopping check, so the
# heavily decayed models cannot be saved by stopping early on a lucky transient.
REAL_ENGINES = [
    TorchWithGrid(progress=False, optim="rmsprop", batch_size=128, tenacity=3, epoch_size=25),
    SklearnWithGrid(progress=False),
]


@pytest.mark.parametrize("engine", REAL_ENGINES, ids=["torch", "sklearn"])
def test_real_engines_choose_the_value_that_works(engine):
    X, y = _offset_blobs()
    bad_low, good, bad_high = engine.grid("inner_kfold")
    # the premise: the extreme values really give the majority class, the middle one separates the classes
    group = FitGroup(np.arange(300), np.arange(300, 400), (bad_low, good, bad_high), np.arange(300, 400))
    preds = engine.fit_predict(X, y, 2, [group])[0]
    assert (preds[0] == 0).all() and (preds[2] == 0).all() and (preds[1] == y[300:]).mean() > 0.95

    result = inner_kfold_eval(X, y, 2, engine, kfold=3)
    assert result[engine.reg_name] == [good] * 3
    assert result["devacc"] > 95 and result["acc"] > 80  # majority class: 70
    result, _ = kfold_eval(X[:300], y[:300], X[300:], y[300:], 2, engine, kfold=3)
    assert result[engine.reg_name] == good and result["acc"] > 80


# -- MRPC ---------------------------------------------------------------------------------------------
def test_mrpc_features_are_absolute_difference_then_product():
    u = np.array([[1.0, 2.0, -3.0]])
    v = np.array([[3.0, -1.0, -3.0]])
    np.testing.assert_array_equal(mrpc_features(u, v), [[2.0, 3.0, 0.0, 3.0, -2.0, 9.0]])


def test_mrpc_task_arrays_pair_the_right_rows_in_senteval_order():
    rows = pd.DataFrame(
        {
            "task": "MRPC",
            "split": ["train", "train", "test"],
            "sentence1": ["a b", "c", "d"],
            "sentence2": ["e", "f", "g h"],
            "label": [1, 0, 1],
            "line": [2, 3, 2],
        }
    )
    emb1 = np.array([[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    emb2 = np.array([[0.0, 1.0], [1.0, 1.0], [4.0, 6.0]])
    data = _task_arrays(rows, emb1, emb2)
    X_train, y_train = data["train"]
    # SentEval's order puts "c" (1 token) before "a b" (2 tokens)
    np.testing.assert_array_equal(X_train, [[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(y_train, [0, 1])
    np.testing.assert_array_equal(data["test"][0], [[1.0, 1.0, 20.0, 30.0]])
