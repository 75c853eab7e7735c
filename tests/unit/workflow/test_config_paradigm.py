"""A ``loss: paradigm`` variant in a study config: its parts resolve through bases and per-model
overrides, a bad part fails naming its config key, and Snakemake dry-runs it (or refuses it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gradparadigm.config import validate_config
from gradparadigm.errors import ConfigError
from gradparadigm.training.settings import resolve_run_settings

from snakemake_testkit import snakemake

PARTS = {"gd": {"kind": "soft", "tau": 0.1}, "weight": {"kind": "hardest"}, "ratio": {"kind": "met"}}


def _study(**variants) -> dict:
    return {
        "models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}},
        "variants": {"my-loss": {"loss": "paradigm", "loss_args": PARTS}, **variants},
    }


def _loss_args(config: dict, variant: str) -> dict:
    return resolve_run_settings(validate_config(config), "m", variant)["loss_args"]


def test_a_paradigm_variant_resolves_to_complete_parts():
    args = _loss_args(_study(), "my-loss")
    assert args == {"gd": {"kind": "soft", "tau": 0.1}, "ratio": {"kind": "met"}, "weight": {"kind": "hardest"}}
    assert json.loads(json.dumps(args, sort_keys=True)) == args
    assert _loss_args(_study(plain={"loss": "paradigm"}), "plain")["gd"] == {"kind": "margin", "m": 0.3}


def test_a_derived_variant_merges_a_part_of_the_same_kind_and_replaces_one_of_another():
    config = _study(
        **{
            "other-tau": {"base": "my-loss", "loss_args": {"gd": {"tau": 0.5}}},
            "margin": {"base": "my-loss", "loss_args": {"gd": {"kind": "margin"}}},
            "r2": {"base": "my-loss", "loss_args": {"ratio": {"kind": "constant", "r": 2}}},
        }
    )
    assert _loss_args(config, "other-tau")["gd"] == {"kind": "soft", "tau": 0.5}
    margin = _loss_args(config, "margin")
    assert margin["gd"] == {"kind": "margin", "m": 0.3} and margin["weight"] == {"kind": "hardest"}
    assert _loss_args(config, "r2")["ratio"] == {"kind": "constant", "r": 2.0}


def test_a_per_model_override_merges_into_the_part():
    config = _study()
    config["variants"]["my-loss"]["per_model"] = {"m": {"loss_args": {"gd": {"tau": 0.02}}}}
    assert _loss_args(config, "my-loss")["gd"] == {"kind": "soft", "tau": 0.02}


@pytest.mark.parametrize(
    ("variant", "key", "message"),
    [
        (
            {"loss_args": {"gd": {"kind": "foo"}}},
            "variants.v.loss_args.gd.kind",
            "'foo' is not one of margin, soft, none",
        ),
        ({"loss_args": {"weight": {"kind": "softmax", "tau": -1}}}, "variants.v.loss_args.weight.tau", "must be > 0"),
        ({"loss_args": {"ratio": {"kind": "mat", "m": 0.15}}}, "variants.v.loss_args.ratio.m", "no such parameter"),
        ({"loss_args": {"gd": True}}, "variants.v.loss_args.gd", "must be a mapping with a 'kind'"),
        ({"loss_args": {"m": 0.3}}, "variants.v.loss_args", "unknown hyperparameter(s) m; valid: gd, ratio, weight"),
        (
            {"per_model": {"m": {"loss_args": {"weight": {"kind": "power"}}}}},
            "variants.v.per_model.m.loss_args.weight.power",
            "required for weight kind 'power'",
        ),
    ],
)
def test_a_bad_part_names_its_config_key(variant, key, message):
    config = validate_config(_study(v={"loss": "paradigm", **variant}))
    with pytest.raises(ConfigError) as info:
        resolve_run_settings(config, "m", "v")
    assert info.value.key == key
    assert str(info.value).startswith(f"config key '{key}': ") and message in str(info.value)


def _dry_run(tmp_path: Path, config: dict) -> subprocess.CompletedProcess:
    return snakemake(tmp_path, "-n", config=config)


def test_snakemake_dry_runs_a_paradigm_variant_and_refuses_a_bad_part(tmp_path):
    result = _dry_run(tmp_path, _study())
    assert result.returncode == 0, result.stderr
    assert "rule train:" in result.stdout + result.stderr
    bad = _study()
    bad["variants"]["my-loss"]["loss_args"] = {**PARTS, "ratio": {"kind": "mett"}}
    result = _dry_run(tmp_path, bad)
    assert result.returncode != 0
    assert (
        "config key 'variants.my-loss.loss_args.ratio.kind': loss 'paradigm': hyperparameter 'ratio.kind': "
        "'mett' is not one of constant, arccon, met, mat"
    ) in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
