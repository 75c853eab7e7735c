"""SentEval's transfer-task protocol (MR, CR, SUBJ, MPQA, SST2, TREC, MRPC) on frozen sentence embeddings.

Follows facebookresearch/SentEval (``senteval/tools/validation.py`` and the task files
``binary.py``, ``sst.py``, ``trec.py``, ``mrpc.py``), in its "test" settings by default:

- MR, CR, SUBJ, MPQA -- ``InnerKFoldClassifier``: ``kfold`` outer stratified folds
  (``StratifiedKFold(shuffle=True, random_state=1111)``; SentEval fixes 1111 here whatever the seed);
  in each, the same k-fold split of the outer training rows scores every grid value (mean inner
  accuracy, x100, rounded to 2 decimals; the first best wins), then a refit with the chosen value on
  the outer training rows is tested on the outer test fold. ``acc`` is the mean outer test accuracy,
  ``devacc`` the mean best inner score.
- TREC (6 coarse classes), MRPC -- ``KFoldClassifier``: k-fold on the official train (folds seeded
  with ``seed``) scores the grid, a refit on all of train is tested on the official test set.
- SST2 -- ``SplitClassifier``: the grid is scored on dev, the chosen model tested. SentEval refits the
  chosen value with the same seed, data and early stopping, i.e. it trains the identical model again;
  this reuses it.
- MRPC features are SentEval's ``[|u - v|, u * v]``; it also reports F1 of the paraphrase class.

Refits train on all their rows with the sklearn engine and, with the torch engine, hold out
``validation_split = 0.05`` of them for early stopping, as SentEval does. Accuracies are x100 and
rounded to 2 decimals where SentEval rounds.

Row order matters: SentEval sorts each split by (number of tokens, label) -- MRPC by (tokens of A,
tokens of B, label) -- to batch the encoder, and its classifier then sees the rows in that order,
which decides the folds and the batches. :func:`senteval_order` rebuilds that order from the tidy
table (file order, then a stable sort), so the numbers are SentEval's and do not depend on how the
table was shuffled. The order in which sentences are *encoded* does not matter.

Modes (SentEval's README and examples): ``test`` = kfold 10, Adam, batch 64, tenacity 5, epoch size 4;
``fast`` (prototyping) = kfold 5, RMSprop, batch 128, tenacity 3, epoch size 2. Both: seed 1111,
max_epoch 200, logistic regression (nhid 0).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from tqdm.auto import tqdm

from gradparadigm.data.transfer_tasks import CV_TASKS, NCLASSES, TRANSFER_TASKS
from gradparadigm.evaluation.classifiers import Engine, FitGroup, SklearnLogReg, TorchLogReg
from gradparadigm.evaluation.embedding_cache import EmbeddingCache, Encode, embed_sentences

logger = logging.getLogger(__name__)

SEED = 1111
INNER_KFOLD_FOLD_SEED = 1111  # InnerKFoldClassifier hard-codes random_state=1111 for both fold levels
ENGINES = ("torch", "sklearn")
REQUIRED_SPLITS = {task: ("train",) for task in CV_TASKS} | {
    "SST2": ("train", "dev", "test"),
    "TREC": ("train", "test"),
    "MRPC": ("train", "test"),
}


@dataclass(frozen=True)
class ModeSettings:
    kfold: int
    optim: str
    batch_size: int
    tenacity: int
    epoch_size: int
    max_epoch: int = 200


MODES = {
    "test": ModeSettings(kfold=10, optim="adam", batch_size=64, tenacity=5, epoch_size=4),
    "fast": ModeSettings(kfold=5, optim="rmsprop", batch_size=128, tenacity=3, epoch_size=2),
}


def make_engine(
    engine: str, mode: str = "test", seed: int = SEED, progress: bool = True, threads: int | None = 1
) -> Engine:
    """``torch`` (SentEval's PyTorch LogReg with the mode's settings) or ``sklearn`` (L-BFGS LogReg).

    ``threads``: torch threads (torch engine) or BLAS threads (sklearn engine) while fitting.
    """
    settings = MODES[mode]
    if engine == "torch":
        return TorchLogReg(
            optim=settings.optim,
            batch_size=settings.batch_size,
            tenacity=settings.tenacity,
            epoch_size=settings.epoch_size,
            max_epoch=settings.max_epoch,
            seed=seed,
            threads=threads,
            progress=progress,
        )
    if engine == "sklearn":
        return SklearnLogReg(seed=seed, blas_threads=threads, progress=progress)
    raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """SentEval's folds: ``StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)`` (train, test) pairs."""
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def percent(fraction: float) -> float:
    """x100, rounded to 2 decimals as SentEval's ``round(100 * x, 2)`` on a NumPy float."""
    return float(np.round(100 * fraction, 2))


def _accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(pred == truth))


def _choose(scores: list[float], regs: tuple[float, ...]) -> tuple[float, float]:
    """SentEval's ``regs[np.argmax(scores)]``: the first of equal best scores (rounded) wins."""
    best = int(np.argmax(scores))
    return regs[best], scores[best]


def inner_kfold_eval(
    X: np.ndarray,
    y: np.ndarray,
    nclasses: int,
    engine: Engine,
    kfold: int,
    fold_seed: int = INNER_KFOLD_FOLD_SEED,
    desc: str = "",
) -> dict:
    """``InnerKFoldClassifier.run``: outer k-fold test accuracy with an inner k-fold grid search."""
    regs = engine.grid("inner_kfold")
    outer = stratified_folds(y, kfold, fold_seed)
    groups, owner = [], []
    for o, (train, test) in enumerate(outer):
        for inner_train, inner_test in stratified_folds(y[train], kfold, fold_seed):
            groups.append(
                FitGroup(train=train[inner_train], predict=train[inner_test], regs=regs, valid=train[inner_test])
            )
            owner.append(o)
    preds = engine.fit_predict(X, y, nclasses, groups, desc=f"{desc} inner CV".strip())
    inner_acc = np.zeros((kfold, kfold, len(regs)))  # [outer, inner, reg]
    seen = [0] * kfold
    for group, o, pred in zip(groups, owner, preds):
        inner_acc[o, seen[o]] = [_accuracy(p, y[group.predict]) for p in pred]
        seen[o] += 1

    chosen, dev_scores, refits = [], [], []
    for o, (train, test) in enumerate(outer):
        scores = [percent(np.mean(inner_acc[o, :, r])) for r in range(len(regs))]
        reg, score = _choose(scores, regs)
        logger.debug("%s outer fold %d: %s = %g, inner score %.2f", desc, o + 1, engine.reg_name, reg, score)
        chosen.append(reg)
        dev_scores.append(score)
        refits.append(FitGroup(train=train, predict=test, regs=(reg,)))
    preds = engine.fit_predict(X, y, nclasses, refits, desc=f"{desc} refits".strip())
    test_scores = [percent(_accuracy(pred[0], y[group.predict])) for group, pred in zip(refits, preds)]
    return {
        "acc": float(np.round(np.mean(test_scores), 2)),
        "devacc": float(np.round(np.mean(dev_scores), 2)),
        engine.reg_name: chosen,
        "fold_acc": test_scores,
    }


def kfold_eval(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    nclasses: int,
    engine: Engine,
    kfold: int,
    seed: int = SEED,
    desc: str = "",
) -> tuple[dict, np.ndarray]:
    """``KFoldClassifier.run``: k-fold grid search on train, refit on all of train, test; returns (scores, yhat)."""
    regs = engine.grid("kfold")
    X = np.concatenate([X_train, X_test])
    y = np.concatenate([y_train, y_test])
    test_rows = np.arange(len(X_train), len(X))
    folds = stratified_folds(y_train, kfold, seed)
    groups = [FitGroup(train=train, predict=test, regs=regs, valid=test) for train, test in folds]
    preds = engine.fit_predict(X, y, nclasses, groups, desc=f"{desc} CV".strip())
    scores = [
        percent(np.mean([_accuracy(pred[r], y[g.predict]) for g, pred in zip(groups, preds)])) for r in range(len(regs))
    ]
    reg, devacc = _choose(scores, regs)
    refit = FitGroup(train=np.arange(len(X_train)), predict=test_rows, regs=(reg,))
    yhat = engine.fit_predict(X, y, nclasses, [refit], desc=f"{desc} refit".strip())[0][0]
    return {"acc": percent(_accuracy(yhat, y_test)), "devacc": devacc, engine.reg_name: reg}, yhat


def split_eval(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_dev: np.ndarray,
    y_dev: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    nclasses: int,
    engine: Engine,
    desc: str = "",
) -> dict:
    """``SplitClassifier.run``: choose the grid value on dev, report test."""
    regs = engine.grid("split")
    X = np.concatenate([X_train, X_dev, X_test])
    y = np.concatenate([y_train, y_dev, y_test])
    n_train, n_dev = len(X_train), len(X_dev)
    dev_rows = np.arange(n_train, n_train + n_dev)
    group = FitGroup(train=np.arange(n_train), predict=np.arange(n_train, len(X)), regs=regs, valid=dev_rows)
    pred = engine.fit_predict(X, y, nclasses, [group], desc=desc)[0]
    scores = [percent(_accuracy(p[:n_dev], y_dev)) for p in pred]
    reg, devacc = _choose(scores, regs)
    return {"acc": percent(_accuracy(pred[regs.index(reg)][n_dev:], y_test)), "devacc": devacc, engine.reg_name: reg}


def mrpc_features(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SentEval's MRPC pair features ``[|a - b|, a * b]`` (not InferSent's ``[a, b, |a-b|, a*b]``)."""
    return np.concatenate([np.abs(a - b), a * b], axis=1)


def senteval_order(rows: pd.DataFrame) -> np.ndarray:
    """Positions (0..len-1) of one task's split in the order SentEval's classifier sees them.

    File order first -- MR/CR/SUBJ/MPQA: the label-1 file, then the label-0 file (SentEval's
    ``pos + neg``), each by line; other tasks by line -- then Python's stable sort on
    (tokens, label), or (tokens of sentence1, tokens of sentence2, label) for MRPC.
    """
    task = rows["task"].iloc[0]
    labels = rows["label"].to_numpy()
    lines = rows["line"].to_numpy()
    if task in CV_TASKS:
        file_order = sorted(range(len(rows)), key=lambda i: (-labels[i], lines[i]))
    else:
        file_order = sorted(range(len(rows)), key=lambda i: lines[i])
    ntok1 = [len(s.split()) for s in rows["sentence1"]]
    if task == "MRPC":
        ntok2 = [len(s.split()) for s in rows["sentence2"]]
        key = lambda i: (ntok1[i], ntok2[i], labels[i])  # noqa: E731
    else:
        key = lambda i: (ntok1[i], labels[i])  # noqa: E731
    return np.array(sorted(file_order, key=key), dtype=np.int64)


def _task_arrays(
    rows: pd.DataFrame, emb1: np.ndarray, emb2: np.ndarray | None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split: (features, labels) in SentEval's order."""
    out = {}
    positions = np.arange(len(rows))
    for split in ("train", "dev", "test"):
        mask = (rows["split"] == split).to_numpy()
        if not mask.any():
            continue
        pos = positions[mask][senteval_order(rows[mask])]
        X = emb1[pos] if emb2 is None else mrpc_features(emb1[pos], emb2[pos])
        out[split] = (X, rows["label"].to_numpy()[pos])
    return out


def evaluate_task(
    task: str, data: dict[str, tuple[np.ndarray, np.ndarray]], engine: Engine, settings: ModeSettings, seed: int = SEED
) -> dict:
    """The protocol for one task on its per-split (features, labels), in SentEval's order."""
    nclasses = NCLASSES[task]
    missing = [split for split in REQUIRED_SPLITS.get(task, ()) if split not in data]
    if missing:
        raise ValueError(
            f"{task} needs the split(s) {', '.join(REQUIRED_SPLITS[task])}; the table has no {', '.join(missing)} rows"
        )
    if task in CV_TASKS:
        X, y = data["train"]
        result = inner_kfold_eval(X, y, nclasses, engine, settings.kfold, desc=task)
        return result | {"n_train": len(y), "n_test": len(y)}
    if task == "SST2":
        (Xtr, ytr), (Xdev, ydev), (Xte, yte) = data["train"], data["dev"], data["test"]
        result = split_eval(Xtr, ytr, Xdev, ydev, Xte, yte, nclasses, engine, desc=task)
        return result | {"n_train": len(ytr), "n_dev": len(ydev), "n_test": len(yte)}
    if task in ("TREC", "MRPC"):
        (Xtr, ytr), (Xte, yte) = data["train"], data["test"]
        result, yhat = kfold_eval(Xtr, ytr, Xte, yte, nclasses, engine, settings.kfold, seed=seed, desc=task)
        if task == "MRPC":
            result["f1"] = percent(f1_score(yte, yhat))
        return result | {"n_train": len(ytr), "n_test": len(yte)}
    raise ValueError(f"unknown transfer task {task!r}; valid: {', '.join(TRANSFER_TASKS)}")


def run_transfer(
    table: pd.DataFrame,
    encode: Encode,
    tasks: Iterable[str] = TRANSFER_TASKS,
    mode: str = "test",
    engine: str = "torch",
    cache_dir: str | Path | None = None,
    fingerprint: str | None = None,
    seed: int = SEED,
    progress: bool = True,
    threads: int | None = 1,
) -> dict:
    """Score an encoder on SentEval's transfer tasks; returns the JSON-ready result.

    ``table``: the tidy table of :mod:`gradparadigm.data.transfer_tasks` (other tasks' rows are
    ignored). ``encode``: sentences -> float array ``[n, dim]``. With ``cache_dir`` (and the encoder's
    ``fingerprint``, which must change whenever its vectors would) embeddings are cached per task.
    ``threads`` bounds the classifier's threads (see :func:`make_engine`); encoding is the caller's.
    """
    tasks = list(tasks)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    unknown = [t for t in tasks if t not in TRANSFER_TASKS]
    if unknown:
        raise ValueError(f"unknown transfer task(s) {', '.join(unknown)}; valid: {', '.join(TRANSFER_TASKS)}")
    cache = None
    if cache_dir is not None:
        if not fingerprint:
            raise ValueError(
                "cache_dir needs the encoder's fingerprint, so that a changed encoder is not served stale vectors"
            )
        cache = EmbeddingCache(cache_dir, fingerprint)
    settings = MODES[mode]
    clf = make_engine(engine, mode, seed=seed, progress=progress, threads=threads)

    results = {}
    for task in tqdm(tasks, desc=f"transfer ({clf.name}, {mode})", unit="task", disable=not progress):
        rows = table[table["task"] == task].reset_index(drop=True)
        if rows.empty:
            raise ValueError(f"the table has no rows for task {task}")
        start = time.perf_counter()
        sentences = rows["sentence1"].tolist() + (rows["sentence2"].tolist() if task == "MRPC" else [])
        vectors, cached = embed_sentences(task, sentences, encode, cache)
        encode_seconds = time.perf_counter() - start
        emb1, emb2 = vectors[: len(rows)], (vectors[len(rows) :] if task == "MRPC" else None)
        start = time.perf_counter()
        result = evaluate_task(task, _task_arrays(rows, emb1, emb2), clf, settings, seed=seed)
        result["seconds"] = round(time.perf_counter() - start, 1)
        result["encode_seconds"] = round(encode_seconds, 1)
        result["embeddings_from_cache"] = cached
        logger.info(
            "%s: acc %.2f (devacc %.2f%s) in %.0f s [%s, %s mode]",
            task,
            result["acc"],
            result["devacc"],
            f", F1 {result['f1']:.2f}" if "f1" in result else "",
            result["seconds"],
            clf.name,
            mode,
        )
        results[task] = result

    return {
        "protocol": "SentEval transfer (facebookresearch/SentEval senteval/tools/validation.py)",
        "mode": mode,
        "engine": clf.name,
        "classifier": clf.describe()["classifier"],
        "settings": {
            "seed": seed,
            "kfold": settings.kfold,
            "inner_kfold_fold_seed": INNER_KFOLD_FOLD_SEED,
            "data_order": "SentEval's sort by (tokens, label) per split",
            **clf.describe(),
        },
        "tasks": results,
        "avg": float(np.round(np.mean([r["acc"] for r in results.values()]), 2)),
    }
