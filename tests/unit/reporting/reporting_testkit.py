"""Synthetic results in the real folder layout (results/{model}/{variant}/seed~{seed}/...) and a
small study, for the reporting tests."""

from __future__ import annotations

import json
from pathlib import Path

from gradparadigm.reporting.study import describe_study
from gradparadigm.training.settings import resolve_run_settings

STS = ["STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICKRelatedness"]
TRANSFER = ["MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC"]
ON = {"gd": True, "weight": True, "ratio": True}

# listed out of the paper's order on purpose: the tables must reorder
STUDY_CONFIG = {
    "models": {"m1": {"source": "packaged:all-MiniLM-L6-v2"}, "m2": {"source": "bert-base-uncased"}},
    "variants": {
        "mhe-mod": {"loss": "mhe", "loss_args": ON, "description": "MHE with GD, W and R"},
        "untrained": {"loss": "none", "pooler": "mean"},
        "mhe-no-gd": {"loss": "mhe", "loss_args": {**ON, "gd": False}, "base": "mhe-mod"},
        "infonce": {"loss": "infonce"},
        "mhe-ori": {"loss": "mhe"},
        "bt-ori": {"loss": "barlow_twins"},
        "bt-mod": {"loss": "barlow_twins", "loss_args": ON},
        "mhe-no-r": {"loss": "mhe", "loss_args": {**ON, "ratio": False}},
        "mhe-gd-only": {"loss": "mhe", "loss_args": {"gd": True}},
    },
    "seeds": [0, 1, 2],
    "train": {"batch_size": 64, "max_steps": 100, "lr": 3e-5, "max_sentences": 1000},
}


def make_study(config: dict = STUDY_CONFIG) -> dict:
    runs = {
        (m, v): run
        for m in config["models"]
        for v in config["variants"]
        if (run := resolve_run_settings(config, m, v)) is not None
    }
    return json.loads(json.dumps(describe_study(config, runs)))  # as the CLI receives it


def run_dir(root: Path, model: str, variant: str, seed: int | str) -> Path:
    path = root / "results" / model / variant / f"seed~{seed}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_sts(root: Path, model: str, variant: str, seed, base: float, **changes) -> Path:
    """An sts.json as evaluation.sts writes it: task i scores base + i; avg deliberately wrong."""
    result = {task: {"pearson": base + i + 0.5, "spearman": base + i, "n": 10} for i, task in enumerate(STS)}
    for task in STS[:5]:
        result[task].update({"spearman_all": base, "spearman_mean": base, "spearman_wmean": base})
        result[task]["subsets"] = {"sub": {"pearson": 1.0, "spearman": 2.0, "n": 5}}
    result["avg"] = {"spearman": -99.0}  # never trusted: the tables recompute it
    result["meta"] = {
        "model": model,
        "variant": variant,
        "seed": str(seed),
        "model_source": "x",
        "versions": {"torch": "2.13.0"},
        "git_commit": "abc",
        "device": "cpu",
    }
    for key, value in changes.items():
        result[key] = value
    path = run_dir(root, model, variant, seed) / "sts.json"
    path.write_text(json.dumps(result))
    return path


def write_transfer(root: Path, model: str, variant: str, seed, base: float, **changes) -> Path:
    tasks = {task: {"acc": base + i, "devacc": base + i + 1} for i, task in enumerate(TRANSFER)}
    tasks["MRPC"]["f1"] = 80.0
    result = {
        "mode": "test",
        "engine": "torch",
        "tasks": tasks,
        "avg": -1.0,
        "meta": {"model": model, "variant": variant, "seed": str(seed)},
    }
    result.update(changes)
    path = run_dir(root, model, variant, seed) / "transfer.json"
    path.write_text(json.dumps(result))
    return path


def write_train_log(
    root: Path, model: str, variant: str, seed, steps: int = 6, shift: float = 0.0, dynamics: bool = False
) -> Path:
    """A small log; ``dynamics``: with the post-step fields (older logs have none)."""
    lines = []
    for step in range(1, steps + 1):
        lines.append(
            {
                "type": "train",
                "step": step,
                "epoch": 0,
                "loss": 1.0,
                "pos_cos": 0.9 - 0.01 * step + shift,
                "neg_cos_hardest": 0.5,
                "gap": 0.4 + shift,
                "gd_active_frac": 1.0,
                "w_hardest_share": 0.3 if step % 2 else None,
                "r_effective": None,
            }
        )
        if dynamics:
            lines[-1].update(closer_frac=0.75, d_pos=0.01 + shift, d_hard=-0.02, d_gap=0.03 + shift)
        if step % 3 == 0:
            lines.append({"type": "eval", "step": step, "stsb_dev_spearman": 70.0 + step + shift, "best": True})
    path = run_dir(root, model, variant, seed) / "train_log.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
