"""The composed paradigm loss trains in the tiny setup with non-default parts, records its
resolved parts as provenance, and a bad part fails before training, naming its key."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gradparadigm.errors import ConfigError

from training_testkit import FAST

PARTS = {"gd": {"kind": "soft", "tau": 0.1}, "weight": {"kind": "hardest"}, "ratio": {"kind": "arccon"}}


def test_paradigm_with_chosen_parts_trains_and_records_them(tmp_path, run_training, tiny_model_dir):
    settings = dataclasses.replace(FAST, max_steps=2, eval_steps=2, log_steps=1, checkpoint_steps=2)
    record, paths = run_training(tmp_path, loss="paradigm", loss_args=PARTS, settings=settings)
    rows = [json.loads(line) for line in paths["log_out"].read_text().splitlines()]
    train_rows = [r for r in rows if r["type"] == "train"]
    assert [r["step"] for r in train_rows] == [1, 2]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["grad_norm"]) and r["grad_norm"] > 0 for r in train_rows)
    assert all(0 < r["gd_active_frac"] <= 1 for r in train_rows)
    # W one-hot at the hardest negative: the measured share is 1 (up to float32 decomposition error)
    assert all(r["w_hardest_share"] == pytest.approx(1.0, abs=1e-3) for r in train_rows)
    before = load_file(str(tiny_model_dir / "model.safetensors"))
    after = load_file(str(paths["model_out"] / "model.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("encoder.layer."))
    stored = json.loads(paths["hparams_out"].read_text())["loss_args"]
    assert stored == {
        "gd": {"kind": "soft", "tau": 0.1},
        "ratio": {"kind": "arccon", "u": np.pi / 18},
        "weight": {"kind": "hardest"},
    }
    assert record["loss"] == "paradigm"


def test_a_bad_part_stops_training_naming_its_key(tmp_path, run_training):
    with pytest.raises(ConfigError) as info:
        run_training(tmp_path, loss="paradigm", loss_args={"weight": {"kind": "top1"}})
    assert info.value.key == "loss_args.weight.kind"
    assert not (tmp_path / "model").exists()
