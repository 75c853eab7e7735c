"""Post-step dynamics: the statistic on hand-made views, the dropout replay, no effect on the training
trajectory, and the direction of the change where the loss fixes it (sg: a large ratio pulls the
positive closer, ratio 0 only pushes the hardest negatives away)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from gradparadigm.training.dynamics import DYNAMICS_KEYS, capture_rng, replayed_rng, step_dynamics
from gradparadigm.training.trainer import TIMING_KEYS

from training_testkit import FAST


def _unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle)]


def test_step_dynamics_on_hand_made_views():
    # 2-D unit vectors given by their angles; s_ij = cos(angle0_i − angle1_j)
    z0 = torch.tensor([_unit(0.0), _unit(1.0), _unit(2.0)])
    z1 = torch.tensor([_unit(0.3), _unit(1.2), _unit(2.5)])
    z1_after = torch.tensor([_unit(0.1), _unit(1.4), _unit(2.1)])  # anchors fixed, candidates moved
    stats = step_dynamics(3.0 * z0, z1, z0, 2.0 * z1_after)  # the scale must not matter

    def s(a, b):
        return math.cos(a - b)

    a0, b1, c1 = (0.0, 1.0, 2.0), (0.3, 1.2, 2.5), (0.1, 1.4, 2.1)
    d_pos = [s(a0[i], c1[i]) - s(a0[i], b1[i]) for i in range(3)]
    hard = [max((j for j in range(3) if j != i), key=lambda j: s(a0[i], b1[j])) for i in range(3)]
    d_hard = [s(a0[i], c1[hard[i]]) - s(a0[i], b1[hard[i]]) for i in range(3)]
    gap_before = [s(a0[i], b1[i]) - max(s(a0[i], b1[j]) for j in range(3) if j != i) for i in range(3)]
    gap_after = [s(a0[i], c1[i]) - max(s(a0[i], c1[j]) for j in range(3) if j != i) for i in range(3)]
    assert stats["closer_frac"] == pytest.approx(sum(d > 0 for d in d_pos) / 3)
    assert stats["closer_frac"] == pytest.approx(2 / 3)  # anchor 1's positive moved from 0.2 to 0.4 rad away
    assert stats["d_pos"] == pytest.approx(sum(d_pos) / 3, abs=1e-6)
    assert stats["d_hard"] == pytest.approx(sum(d_hard) / 3, abs=1e-6)
    assert stats["d_gap"] == pytest.approx(sum(a - b for a, b in zip(gap_after, gap_before)) / 3, abs=1e-6)


def test_no_change_gives_zeros():
    torch.manual_seed(0)
    z0, z1 = torch.randn(6, 8), torch.randn(6, 8)
    assert step_dynamics(z0, z1, z0, z1) == {"closer_frac": 0.0, "d_pos": 0.0, "d_hard": 0.0, "d_gap": 0.0}


def test_replay_gives_the_same_dropout_masks_and_leaves_the_stream_alone():
    dropout = torch.nn.Dropout(0.5)
    x = torch.ones(64)
    torch.manual_seed(3)
    states = capture_rng(torch.device("cpu"))
    first = dropout(x)
    after_first = torch.get_rng_state()
    with replayed_rng(states):
        again = dropout(x)
    assert torch.equal(first, again)
    assert torch.equal(torch.get_rng_state(), after_first)  # as if the replay had not happened
    assert not torch.equal(dropout(x), first)


def test_rescore_without_a_step_reproduces_the_forward_pass(tiny_model_dir, views_dir):
    from transformers import AutoModel

    from gradparadigm.training.head import build_head
    from gradparadigm.training.trainer import ContrastiveModel, forward_views, rescore
    from gradparadigm.training.views import collate, load_views

    views, meta = load_views(views_dir)
    rows = views[list(range(8))]
    batch = collate(rows["input_ids_0"], rows["input_ids_1"], meta["pad_token_id"], meta["model_input_names"])
    torch.manual_seed(0)
    model = ContrastiveModel(AutoModel.from_pretrained(tiny_model_dir), "cls", build_head("linear", 32)).train()
    states = capture_rng(torch.device("cpu"))
    with torch.no_grad():
        _, z0, z1 = forward_views(model, batch, bf16=False)
    assert not torch.equal(z0, z1)  # dropout is on: the two views differ
    replay0, replay1 = rescore(model, batch, states, bf16=False)
    assert torch.equal(replay0, z0) and torch.equal(replay1, z1)


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _weights(model_dir):
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def test_dynamics_do_not_change_the_run(tmp_path, run_training):
    _, on = run_training(tmp_path / "on")  # FAST logs every step: 6 re-scores
    _, off = run_training(tmp_path / "off", settings=dataclasses.replace(FAST, dynamics=False))
    with_dynamics, without = _records(on["log_out"]), _records(off["log_out"])
    trains = [r for r in with_dynamics if r["type"] == "train"]
    assert len(trains) == 6 and all(set(DYNAMICS_KEYS) <= set(r) for r in trains)
    assert not any(set(DYNAMICS_KEYS) & set(r) for r in without)
    strip = set(DYNAMICS_KEYS) | set(TIMING_KEYS)
    assert [{k: v for k, v in r.items() if k not in strip} for r in with_dynamics] == [
        {k: v for k, v in r.items() if k not in TIMING_KEYS} for r in without
    ]  # same losses, lr, scores
    a, b = _weights(on["model_out"]), _weights(off["model_out"])
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_log_steps_do_not_change_the_model(tmp_path, run_training):
    """log_steps only decides which steps are recorded (README: a recording setting)."""
    _, every = run_training(tmp_path / "every")  # FAST logs every step
    _, sparse = run_training(tmp_path / "sparse", settings=dataclasses.replace(FAST, log_steps=4))
    assert len([r for r in _records(sparse["log_out"]) if r["type"] == "train"]) < 6
    a, b = _weights(every["model_out"]), _weights(sparse["model_out"])
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _one_step(tmp_path, run_training, r: float) -> dict:
    settings = dataclasses.replace(FAST, max_steps=1, eval_steps=1, log_steps=1, lr=1e-3)
    _, paths = run_training(tmp_path, loss="sg", settings=settings, loss_args={"r": r, "gd": False})
    (record,) = [r for r in _records(paths["log_out"]) if r["type"] == "train"]
    return record


def test_a_large_ratio_brings_the_positives_closer(tmp_path, run_training):
    record = _one_step(tmp_path, run_training, r=50.0)
    assert record["closer_frac"] >= 0.75 and record["d_pos"] > 0


def test_a_zero_ratio_pushes_the_hardest_negatives_away(tmp_path, run_training):
    record = _one_step(tmp_path, run_training, r=0.0)
    assert record["d_hard"] < 0


def test_a_checkpoint_resumes_across_a_recording_setting_only():
    """The checkpoint compatibility key ignores log_steps, checkpoint_steps and dynamics, and sees
    every setting that shapes the model."""
    from gradparadigm.training.trainer import _compat_key

    run = {"loss": "infonce", "loss_args": {"tau": 0.05}, "train": FAST.to_dict(), "seed": 0}
    recorded = {**run, "train": {**FAST.to_dict(), "log_steps": 5, "checkpoint_steps": 3, "dynamics": False}}
    shaped = {**run, "train": {**FAST.to_dict(), "lr": 1e-3}}
    assert _compat_key(recorded) == _compat_key(run) != _compat_key(shaped)
