"""A loss from outside the package (`loss: module:Class`), the worked example of docs/losses.md
(examples/outside_loss/decoupled_infonce.py): its closed form, a config that names it, Snakemake's
dry run from the folder that holds it, two training steps, and the errors for a bad name."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys

import pytest
import torch

from gradparadigm.config import validate_config
from gradparadigm.errors import ConfigError
from gradparadigm.losses import build_loss, paradigm_gradient
from gradparadigm.losses.paradigm import anchor_gradient
from gradparadigm.training.settings import loss_code_files, resolve_run_settings, training_code_version

from snakemake_testkit import REPO, snakemake
from training_testkit import FAST

EXAMPLE = REPO / "examples" / "outside_loss"
NAME = "decoupled_infonce:DecoupledInfoNCE"


@pytest.fixture()
def on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    sys.modules.pop("decoupled_infonce", None)


def _study(loss: str = NAME) -> dict:
    return {
        "models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}},
        "variants": {"dcl": {"loss": loss, "loss_args": {"tau": 0.1}}},
    }


def test_the_example_closed_form_equals_autograd(on_path):
    gen = torch.Generator().manual_seed(0)
    z0, z1 = (
        torch.randn(6, 16, generator=gen, dtype=torch.float64),
        torch.randn(6, 16, generator=gen, dtype=torch.float64),
    )
    loss = build_loss(NAME, tau=0.1)
    grad, e0, e1 = anchor_gradient(loss, z0, z1)
    torch.testing.assert_close(paradigm_gradient(loss.components(e0, e1), e0, e1), grad)
    assert loss.components(e0, e1).gd.eq(1).all()  # no gradient dissipation: what decoupling removes


def test_a_config_names_it_and_its_file_is_part_of_the_code_version(on_path):
    run = resolve_run_settings(validate_config(_study()), "m", "dcl")
    assert run["loss"] == NAME and run["loss_args"] == {"tau": 0.1}
    assert EXAMPLE / "decoupled_infonce.py" in loss_code_files(NAME)
    assert training_code_version(NAME) != training_code_version("infonce")


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        ("nosuchmodule:Loss", "cannot import module 'nosuchmodule'"),
        ("decoupled_infonce:Missing", "no such attribute"),
        ("decoupled_infonce:torch", "not a PairLoss subclass"),
        ("no_such_loss", "unknown loss 'no_such_loss'; valid: infonce"),
    ],
)
def test_a_bad_loss_names_the_key(on_path, loss, message):
    with pytest.raises(ConfigError) as info:
        resolve_run_settings(validate_config(_study(loss)), "m", "dcl")
    assert info.value.key == "variants.dcl.loss" and message in str(info.value)


def test_it_trains(on_path, tmp_path, run_training):
    settings = dataclasses.replace(FAST, max_steps=2, eval_steps=2, checkpoint_steps=2)
    record, paths = run_training(tmp_path, loss=NAME, loss_args={"tau": 0.1}, settings=settings)
    assert record["loss"] == NAME and record["loss_args"] == {"tau": 0.1}
    rows = [json.loads(line) for line in paths["log_out"].read_text().splitlines() if '"train"' in line]
    assert rows and all(r["gd_active_frac"] == 1.0 for r in rows)


def test_snakemake_dry_runs_it_from_the_folder_that_holds_it(tmp_path):
    shutil.copy(EXAMPLE / "decoupled_infonce.py", tmp_path)
    result = snakemake(tmp_path, "-n", "-p", "results/m/dcl/seed~0/sts.json", config=_study())
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"--loss {NAME}" in result.stdout
