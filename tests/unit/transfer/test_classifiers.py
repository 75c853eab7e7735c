"""The batched torch engine against a plain one-model-at-a-time transcription of SentEval's classifier loop."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from gradparadigm.evaluation.classifiers import FitGroup, SklearnLogReg, TorchLogReg, _LockstepTrainer


def senteval_reference_fit(
    X,
    y,
    nclasses,
    train,
    valid,
    l2,
    *,
    optim="adam",
    batch_size=64,
    tenacity=5,
    epoch_size=4,
    max_epoch=200,
    seed=1111,
    validation_split=0.05,
):
    """One SentEval ``MLP(nhid=0).fit`` in plain torch: returns (best nn.Linear, epochs trained)."""
    np.random.seed(seed)  # PyTorchClassifier.__init__
    torch.manual_seed(seed)
    model = nn.Linear(X.shape[1], nclasses)
    loss_fn = nn.CrossEntropyLoss()
    if optim == "adam":
        optimizer = torch.optim.Adam(model.parameters())
    else:
        optimizer = torch.optim.RMSprop(model.parameters())  # SentEval's "rmsprop": torch defaults, lr 1e-2
    optimizer.param_groups[0]["weight_decay"] = l2
    if valid is None:  # prepare_split with validation_split
        permutation = np.random.permutation(len(train))
        cut = int(validation_split * len(train))
        train, valid = train[permutation[cut:]], train[permutation[:cut]]
    trainX, trainy = torch.from_numpy(X[train]), torch.from_numpy(y[train])
    devX, devy = torch.from_numpy(X[valid]), torch.from_numpy(y[valid])
    nepoch, best_accuracy, early_stop_count, stop_train = 0, -1.0, 0, False
    while not stop_train and nepoch <= max_epoch:
        for _ in range(epoch_size):
            permutation = np.random.permutation(len(trainX))
            for i in range(0, len(trainX), batch_size):
                idx = torch.from_numpy(permutation[i : i + batch_size])
                loss = loss_fn(model(trainX[idx]), trainy[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        nepoch += epoch_size
        with torch.no_grad():
            accuracy = (model(devX).argmax(1) == devy).sum().item() / len(devy)
        if accuracy > best_accuracy:
            best_accuracy, best_model = accuracy, copy.deepcopy(model)
        else:
            if early_stop_count >= tenacity:
                stop_train = True
            early_stop_count += 1
    return best_model, nepoch


def _toy(n=640, d=10, nclasses=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X @ rng.normal(size=(d, nclasses)) + 2.0 * rng.normal(size=(n, nclasses))).argmax(1).astype(np.int64)
    return X, y


def test_initialisation_is_nn_linear_after_manual_seed():
    X, y = _toy(n=50, d=7)
    trainer = _LockstepTrainer(
        TorchLogReg(progress=False),
        torch.from_numpy(X),
        torch.from_numpy(y),
        3,
        [FitGroup(np.arange(40), np.arange(40, 50), (1e-5, 1e-3), np.arange(40, 50))],
    )
    torch.manual_seed(1111)
    linear = nn.Linear(7, 3)
    for r in range(2):
        assert torch.equal(trainer.W[0, 3 * r : 3 * r + 3], linear.weight.detach())
        assert torch.equal(trainer.b[0, 3 * r : 3 * r + 3], linear.bias.detach())


@pytest.mark.parametrize(
    "settings",
    [
        dict(optim="adam", batch_size=64, tenacity=5, epoch_size=4),  # SentEval "test"
        dict(optim="rmsprop", batch_size=128, tenacity=3, epoch_size=2),  # SentEval prototyping
    ],
    ids=["adam", "rmsprop"],
)
def test_batched_trainer_reproduces_senteval_fits(settings):
    X, y = _toy()
    # groups of different sizes (short last batches, different batch counts per pass), validation_data
    # and validation_split, several weight decays per group
    groups = [
        FitGroup(np.arange(0, 500), np.arange(560, 640), (1e-5, 1e-2), np.arange(500, 560)),
        FitGroup(np.arange(0, 533), np.arange(560, 640), (1e-4, 1e-3), np.arange(533, 560)),
        FitGroup(np.arange(0, 560), np.arange(560, 640), (1e-3, 1e-5), None),
    ]
    engine = TorchLogReg(progress=False, **settings)
    trainer = _LockstepTrainer(engine, torch.from_numpy(X), torch.from_numpy(y), 3, groups)
    trainer.train("test")
    predictions = trainer.predict()
    for g, group in enumerate(groups):
        for r, l2 in enumerate(group.regs):
            model, nepoch = senteval_reference_fit(X, y, 3, group.train, group.valid, l2, **settings)
            assert trainer.epochs_trained[g, r] == nepoch
            W = trainer.best_W[g, 3 * r : 3 * r + 3]
            torch.testing.assert_close(W, model.weight.detach(), rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(trainer.best_b[g, 3 * r : 3 * r + 3], model.bias.detach(), rtol=1e-4, atol=1e-5)
            expected = model(torch.from_numpy(X[group.predict])).argmax(1).numpy()
            np.testing.assert_array_equal(predictions[g][r], expected)


def test_early_stopping_counts_non_improving_epochs_without_reset():
    """SentEval stops at the (tenacity+1)-th epoch that does not improve, counted over the whole fit."""
    X, y = _toy(n=300, d=6)
    engine = TorchLogReg(progress=False, tenacity=2, epoch_size=1)
    group = FitGroup(np.arange(200), np.arange(250, 300), (1e-5, 1e-2), np.arange(200, 250))
    trainer = _LockstepTrainer(engine, torch.from_numpy(X), torch.from_numpy(y), 3, [group])
    trainer.train("")
    assert trainer.stopped.all() and (trainer.bad_epochs == 3).all()
    for r, l2 in enumerate(group.regs):
        _, nepoch = senteval_reference_fit(X, y, 3, group.train, group.valid, l2, tenacity=2, epoch_size=1)
        assert trainer.epochs_trained[0, r] == nepoch < 200


def test_max_epoch_bounds_training():
    X, y = _toy(n=200, d=5)
    engine = TorchLogReg(progress=False, tenacity=10**6, epoch_size=2, max_epoch=6)
    group = FitGroup(np.arange(150), np.arange(150, 200), (1e-5,), np.arange(150, 200))
    trainer = _LockstepTrainer(engine, torch.from_numpy(X), torch.from_numpy(y), 3, [group])
    trainer.train("")
    # while nepoch <= max_epoch: rounds at nepoch 0, 2, 4, 6, each of 2 passes of ceil(150/64) = 3 batches
    assert not trainer.stopped.any() and trainer.epochs_trained[0, 0] == 8
    assert int(trainer.steps[0]) == 4 * 2 * math.ceil(150 / 64)


def test_validation_split_needs_rows():
    X, y = _toy(n=30, d=4)
    with pytest.raises(ValueError, match="holds out no row"):
        TorchLogReg(progress=False).fit_predict(X, y, 3, [FitGroup(np.arange(10), np.arange(10, 30), (1e-5,))])


def test_sklearn_engine_is_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    X, y = _toy(n=300, d=8)
    groups = [FitGroup(np.arange(200), np.arange(200, 300), (0.25, 8.0))]
    preds = SklearnLogReg(progress=False).fit_predict(X, y, 3, groups)[0]
    for r, C in enumerate((0.25, 8.0)):
        clf = LogisticRegression(C=C, random_state=1111).fit(X[:200], y[:200])
        np.testing.assert_array_equal(preds[r], clf.predict(X[200:]))
