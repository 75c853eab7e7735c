"""The training loop on a tiny random BERT: every loss trains, runs are reproducible, a killed run
resumes to the same weights, diagnostics do not perturb training, divergence writes no model, and the
saved model loads everywhere with the same embeddings."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gradparadigm.errors import ConfigError, TrainingDivergedError, TrainingInterrupted
from gradparadigm.losses import LOSS_NAMES, build_loss
from gradparadigm.training import trainer as trainer_module
from gradparadigm.training.trainer import TIMING_KEYS

from training_testkit import FAST


def weights(model_dir) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir / "model.safetensors"))


def records(log_path) -> list[dict]:
    return [
        {k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS}
        for line in log_path.read_text().splitlines()
    ]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, run_training):
    """One uninterrupted 6-step run: the reference of the reproducibility tests."""
    record, paths = run_training(tmp_path_factory.mktemp("baseline"))
    return record, paths


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_loss_trains(loss, tmp_path, run_training, tiny_model_dir):
    settings = dataclasses.replace(FAST, max_steps=3, eval_steps=3, log_steps=1, checkpoint_steps=3)
    record, paths = run_training(tmp_path, loss=loss, settings=settings)
    log = records(paths["log_out"])
    train_rows = [r for r in log if r["type"] == "train"]
    assert [r["step"] for r in train_rows] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["grad_norm"]) for r in train_rows)
    assert [r["type"] for r in log].count("eval") == 1
    before, after = weights(tiny_model_dir), weights(paths["model_out"])
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith("encoder.layer.") for k in changed), f"{loss}: no transformer weight changed"
    assert not any(k.startswith("embeddings.") for k in changed)  # frozen by default
    assert record["result"]["steps"] == 3 and not paths["checkpoint_dir"].exists()


def test_outputs_and_records(baseline):
    record, paths = baseline
    log = records(paths["log_out"])
    assert [r["step"] for r in log if r["type"] == "eval"] == [2, 4, 6]
    first = log[0]
    for key in (
        "step",
        "epoch",
        "loss",
        "lr",
        "pos_cos",
        "neg_cos_mean",
        "neg_cos_hardest",
        "gap",
        "alignment",
        "uniformity",
        "gd_active_frac",
        "w_hardest_share",
        "r_effective",
    ):
        assert key in first
    assert first["lr"] == pytest.approx(FAST.lr * 5 / 6)  # linear decay to 0 over 6 steps, no warm-up
    evals = [r for r in log if r["type"] == "eval"]
    best = max(evals, key=lambda r: r["stsb_dev_spearman"])
    assert record["result"]["best_step"] == best["step"]
    assert record["result"]["best_stsb_dev_spearman"] == best["stsb_dev_spearman"]
    assert sum(r["best"] for r in evals) >= 1
    assert record["resolved"]["head"] == "linear" and record["resolved"]["precision"] == "fp32"
    assert record["schedule"] == {"n_sentences": 40, "steps_per_epoch": 5, "total_steps": 6, "warmup_steps": 0}
    assert json.loads(paths["hparams_out"].read_text())["loss_args"] == {"tau": 0.05}


def test_same_seed_same_run_other_seed_other_run(tmp_path, baseline, run_training):
    _, ref = baseline
    _, again = run_training(tmp_path / "again")
    assert records(again["log_out"]) == records(ref["log_out"])
    assert all(
        torch.equal(a, b) for a, b in zip(weights(again["model_out"]).values(), weights(ref["model_out"]).values())
    )
    _, other = run_training(tmp_path / "other", seed=1)
    assert records(other["log_out"]) != records(ref["log_out"])


def test_diagnostics_do_not_change_the_trajectory(tmp_path, baseline, run_training):
    _, ref = baseline  # logs every step
    _, quiet = run_training(tmp_path, settings=dataclasses.replace(FAST, log_steps=100))
    assert all(
        torch.equal(a, b) for a, b in zip(weights(quiet["model_out"]).values(), weights(ref["model_out"]).values())
    )


@pytest.mark.parametrize("how", ["killed", "signalled"])
def test_interrupted_run_resumes_to_the_same_model(how, tmp_path, baseline, run_training):
    ref_record, ref = baseline
    if how == "killed":  # dies after step 3; the last checkpoint is step 2, so step 3 is redone
        options, resume_step = {"kill_after_steps": 3}, 2
    else:  # SIGTERM-style stop request after step 3: checkpoint at once, then stop
        options, resume_step = {"stop_requested": lambda: stop_at_3()}, 3
    steps = {"n": 0}

    def stop_at_3():
        steps["n"] += 1
        return steps["n"] == 3

    with pytest.raises(TrainingInterrupted) as info:
        run_training(tmp_path, **options)
    assert info.value.checkpoint_step == resume_step
    assert not (tmp_path / "model").exists()
    assert json.loads((tmp_path / "checkpoint" / "checkpoint.json").read_text())["step"] == resume_step
    torch.manual_seed(999)  # whatever the process did since: the checkpoint's RNG states must win
    np.random.seed(999)
    record, paths = run_training(tmp_path)
    assert record["result"]["resumed_from_steps"] == [resume_step]
    assert records(paths["log_out"]) == records(ref["log_out"])  # no duplicated or missing record
    resumed, uninterrupted = weights(paths["model_out"]), weights(ref["model_out"])
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)
    assert record["result"]["best_step"] == ref_record["result"]["best_step"]


def test_changed_settings_discard_the_checkpoint(tmp_path, run_training):
    with pytest.raises(TrainingInterrupted):
        run_training(tmp_path, kill_after_steps=3)
    record, _ = run_training(tmp_path, settings=dataclasses.replace(FAST, lr=1e-4))
    assert record["result"]["resumed_from_steps"] == []


def test_nan_loss_stops_without_a_model(tmp_path, run_training, monkeypatch):
    class NanAtStep4(torch.nn.Module):
        """InfoNCE, except that the 4th training call returns NaN (measurement calls don't count)."""

        def __init__(self, **hparams):
            super().__init__()
            self.inner = build_loss("infonce", **hparams)
            self.hparams = self.inner.hparams
            self.calls = 0

        def forward(self, z0, z1):
            value = self.inner(z0, z1)
            if z0.requires_grad and z0.grad_fn is not None:
                self.calls += 1
                if self.calls == 4:
                    return value * float("nan")
            return value

    monkeypatch.setattr(trainer_module, "build_loss", lambda name, **hp: NanAtStep4(**hp))
    with pytest.raises(TrainingDivergedError) as info:
        run_training(tmp_path)
    message = str(info.value)
    assert info.value.step == 4 and "at step 4" in message and "'infonce'" in message
    assert "loss nan" in message and "cosines min/max" in message and "checkpoint of step 4" not in message
    assert "checkpoint of step 2" in message
    assert not (tmp_path / "model").exists() and not (tmp_path / "hparams.json").exists()
    assert json.loads((tmp_path / "checkpoint" / "checkpoint.json").read_text())["step"] == 2


def test_cli_reports_divergence_in_one_line(tmp_path, tiny_model_dir, views_dir, sts_dev, capsys):
    from gradparadigm.cli import main
    from gradparadigm.data.tables import write_table

    write_table(sts_dev, tmp_path / "sts.parquet")
    settings = json.dumps({"batch_size": 8, "max_steps": 3, "eval_steps": 3, "lr": 1e30, "log_steps": 1})
    code = main(
        [
            "train",
            "--model",
            str(tiny_model_dir),
            "--views",
            str(views_dir),
            "--sts-table",
            str(tmp_path / "sts.parquet"),
            "--loss",
            "mpt",
            "--settings",
            settings,
            "--model-out",
            str(tmp_path / "model"),
            "--log-out",
            str(tmp_path / "log.jsonl"),
            "--hparams-out",
            str(tmp_path / "hparams.json"),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "error: training diverged at step" in err and "No model was written" in err
    assert not (tmp_path / "model").exists()


def test_unknown_loss_hyperparameter_is_a_config_error(tmp_path, run_training):
    with pytest.raises(ConfigError, match="unknown hyperparameter"):
        run_training(tmp_path, loss_args={"temperature": 0.1})


@pytest.mark.parametrize("pooler", ["cls", "mean"])
def test_saved_model_loads_everywhere_with_the_same_embeddings(pooler, tmp_path, baseline, run_training):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    from gradparadigm.encoder import load_encoder, saved_pooler

    if pooler == "cls":
        _, paths = baseline
    else:
        settings = dataclasses.replace(FAST, max_steps=2, eval_steps=2)
        record, paths = run_training(tmp_path, settings=settings, pooler="mean")
        assert record["resolved"]["head"] == "none"  # the official code has no head for mean pooling
    model_dir = paths["model_out"]
    assert saved_pooler(model_dir) == pooler
    assert (model_dir / "modules.json").is_file() and (model_dir / "1_Pooling" / "config.json").is_file()
    sentences = ["a cat sat on the mat .", "the orchestra remembered three small boats ."]
    ours = load_encoder(str(model_dir), device="cpu").encode(sentences, progress=False)
    st = SentenceTransformer(str(model_dir), device="cpu").encode(sentences, convert_to_numpy=True)
    np.testing.assert_allclose(st, ours, atol=1e-5)
    hf = AutoModel.from_pretrained(str(model_dir))
    assert hf.config.hidden_size == 32 and not any(torch.isnan(p).any() for p in hf.parameters())
    # shareable (no 0600 files left by the writers) and described by our own model card
    mask = os.umask(0)
    os.umask(mask)
    assert {oct(p.stat().st_mode & 0o777) for p in model_dir.rglob("*") if p.is_file()} == {oct(0o666 & ~mask)}
    card = (model_dir / "README.md").read_text()
    assert "Base model | `" in card and 'Loss | `infonce` with `{"tau": 0.05}`' in card
    assert f"Pooling | `{pooler}`" in card and "best STS-B dev Spearman" in card and "2402.18281" in card


def test_bf16_autocast_path_trains(tmp_path, run_training):
    """The precision CUDA runs use (bf16 autocast; the loss upcasts to float32), here on CPU."""
    settings = dataclasses.replace(FAST, max_steps=2, eval_steps=2, precision="bf16")
    record, paths = run_training(tmp_path, settings=settings)
    assert record["resolved"]["precision"] == "bf16"
    assert all(np.isfinite(r["loss"]) for r in records(paths["log_out"]) if r["type"] == "train")
    assert all(v.dtype == torch.float32 for v in weights(paths["model_out"]).values())  # fp32 master weights


@pytest.mark.slow
def test_sigkilled_cli_run_resumes_to_the_same_model(tmp_path, run_training, tiny_model_dir, views_dir, sts_dev):
    """A real process death: ``gradparadigm train`` is SIGKILLed after its first checkpoint, then the same
    command, in a fresh interpreter, finishes the run; the model equals an uninterrupted run's."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from gradparadigm.data.tables import write_table

    settings = dataclasses.replace(FAST, max_steps=120, eval_steps=40, log_steps=10, checkpoint_steps=20)
    write_table(sts_dev, tmp_path / "sts.parquet")
    out = tmp_path / "cli"
    command = [
        sys.executable,
        "-m",
        "gradparadigm",
        "train",
        "--model",
        str(tiny_model_dir),
        "--views",
        str(views_dir),
        "--sts-table",
        str(tmp_path / "sts.parquet"),
        "--loss",
        "infonce",
        "--settings",
        json.dumps(settings.to_dict()),
        "--threads",
        "1",
        "--model-out",
        str(out / "model"),
        "--log-out",
        str(out / "train_log.jsonl"),
        "--hparams-out",
        str(out / "hparams.json"),
        "--checkpoint-dir",
        str(out / "checkpoint"),
    ]
    src = str(Path(trainer_module.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary = out / "checkpoint" / "checkpoint.json"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if summary.is_file() and json.loads(summary.read_text())["step"] >= 20:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = json.loads(summary.read_text())["step"]
    assert killed_at < 120 and not (out / "model").exists()

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    resumed = json.loads((out / "hparams.json").read_text())["result"]["resumed_from_steps"]
    assert resumed == [killed_at]
    _, reference = run_training(tmp_path / "uninterrupted", settings=settings)
    assert records(out / "train_log.jsonl") == records(reference["log_out"])
    ours, theirs = weights(out / "model"), weights(reference["model_out"])
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
