"""STS evaluation in the SentEval/SimCSE settings.

For every pair the system score is the cosine similarity of the two sentence embeddings; results
are Pearson and Spearman correlations with the gold scores, x100.

STS12-16 come in subsets (files). SentEval reports three aggregates per task, which papers mix up:
  * ``all``   – one correlation over all subsets concatenated (SimCSE's headline, "all" setting),
  * ``mean``  – the plain mean of the per-subset correlations,
  * ``wmean`` – the mean weighted by subset size.
The headline ``spearman``/``pearson`` of an STS12-16 task here is ``all``; the other two are stored
beside it. STS-B and SICK-R are scored on their test split (cosine, no trained regressor), and
``avg`` is the mean of the seven headline Spearman numbers.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

from gradparadigm.data.sts import STS_TASKS, STS_YEAR_TASKS

SETTING = {
    "similarity": "cosine",
    "metric": "Spearman and Pearson correlation x100",
    "sts12_16": "SentEval 'all' setting (subsets concatenated); per-subset, mean and wmean stored too",
    "stsb_sickr": "test split, cosine similarity, no trained regressor",
    "avg": "mean of the 7 Spearman headlines",
}


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity (0 where a vector is zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def correlations(system: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    return {
        "pearson": float(pearsonr(system, gold)[0]) * 100,
        "spearman": float(spearmanr(system, gold)[0]) * 100,
        "n": int(len(gold)),
    }


def aggregate_subsets(subsets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """SentEval's aggregation over the subsets of one STS12-16 task.

    ``subsets`` maps subset name -> (system scores, gold scores). Returns the per-subset results and
    the ``all``/``mean``/``wmean`` aggregates, with ``pearson``/``spearman`` = the ``all`` values.
    """
    per_subset = {name: correlations(sys_scores, gold) for name, (sys_scores, gold) in subsets.items()}
    weights = np.array([r["n"] for r in per_subset.values()], dtype=np.float64)
    all_sys = np.concatenate([s for s, _ in subsets.values()])
    all_gold = np.concatenate([g for _, g in subsets.values()])
    pooled = correlations(all_sys, all_gold)
    result: dict = {"pearson": pooled["pearson"], "spearman": pooled["spearman"], "n": pooled["n"]}
    for metric in ("pearson", "spearman"):
        values = np.array([r[metric] for r in per_subset.values()])
        result[metric + "_all"] = pooled[metric]
        result[metric + "_mean"] = float(values.mean())
        result[metric + "_wmean"] = float(np.average(values, weights=weights))
    result["subsets"] = per_subset
    return result


def evaluate_sts(
    table: pd.DataFrame, encode: Callable[[list[str]], np.ndarray], tasks: tuple[str, ...] | list[str] = STS_TASKS
) -> dict:
    """Score an encoder on the STS ``table`` (see :mod:`gradparadigm.data.sts`).

    ``encode`` maps a list of sentences to an ``[n, dim]`` array. Every distinct sentence of the
    requested tasks is encoded once, in one call.
    """
    unknown = [t for t in tasks if t not in STS_TASKS]
    if unknown:
        raise ValueError(f"unknown STS task(s) {unknown}; valid: {', '.join(STS_TASKS)}")
    rows = table[table["task"].isin(tasks) & (table["split"] == "test")]
    missing = [t for t in tasks if t not in set(rows["task"])]
    if missing:
        raise ValueError(f"the STS table has no test rows for {missing}")
    sentences = list(dict.fromkeys(rows["sentence1"].tolist() + rows["sentence2"].tolist()))
    vectors = encode(sentences)
    index = {s: i for i, s in enumerate(sentences)}
    sims = cosine_rows(
        vectors[rows["sentence1"].map(index).to_numpy()], vectors[rows["sentence2"].map(index).to_numpy()]
    )
    rows = rows.assign(system=sims)
    results: dict = {}
    for task in tasks:
        part = rows[rows["task"] == task]
        if task in STS_YEAR_TASKS:
            subsets = {
                name: (g["system"].to_numpy(), g["score"].to_numpy()) for name, g in part.groupby("subset", sort=False)
            }
            results[task] = aggregate_subsets(subsets)
        else:
            results[task] = correlations(part["system"].to_numpy(), part["score"].to_numpy())
    results["avg"] = {"spearman": float(np.mean([results[t]["spearman"] for t in tasks]))}
    return results


def stsb_dev_spearman(table: pd.DataFrame, encode: Callable[[list[str]], np.ndarray]) -> float:
    """Cosine Spearman x100 on the STS-B *dev* split: the model-selection score during training."""
    dev = table[(table["task"] == "STSBenchmark") & (table["split"] == "dev")]
    if dev.empty:
        raise ValueError("the STS table has no STSBenchmark dev rows")
    sentences = list(dict.fromkeys(dev["sentence1"].tolist() + dev["sentence2"].tolist()))
    vectors = encode(sentences)
    index = {s: i for i, s in enumerate(sentences)}
    sims = cosine_rows(vectors[dev["sentence1"].map(index).to_numpy()], vectors[dev["sentence2"].map(index).to_numpy()])
    return float(spearmanr(sims, dev["score"].to_numpy())[0]) * 100
