"""Sweeps in the config: their expansion into variants (names, values, order, templates), every bad
sweep rejected naming its key, the shipped sweeps, and a dry run of a tiny study with a sweep."""

from __future__ import annotations

import copy

import pytest
import yaml

from gradparadigm.config import validate_config
from gradparadigm.errors import ConfigError
from gradparadigm.sweeps import format_value, sweep_points

from snakemake_testkit import REPO, dry_run, job_counts


def _config(**sweep) -> dict:
    return {
        "models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}, "n": {"source": "bert-base-uncased"}},
        "variants": {
            "untrained": {"loss": "none"},
            "sg-sweep": {
                "template": True,
                "loss": "sg",
                "loss_args": {"tau": 0.05},
                "seeds": [0],
                "models": ["m"],
                "train": {"lr": 1e-5},
                "description": "the template",
            },
            "infonce": {"loss": "infonce"},
            "pd": {"loss": "paradigm", "loss_args": {"gd": {"kind": "margin", "m": 0.2}}},
        },
        "seeds": [0, 1],
        "sweeps": {
            "gd": {
                "description": "GD margin",
                "variant": "sg-sweep",
                "param": "loss_args.m",
                "values": [0.1, 0.3, 1.0],
                **sweep,
            }
        },
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.3, "0.3"),
        (1e-05, "1e-05"),
        (1.0, "1.0"),
        (2, "2"),
        (0.003, "0.003"),
        (True, "true"),
        (False, "false"),
        ("mean", "mean"),
        (-0.5, "-0.5"),
    ],
)
def test_values_are_written_stably(value, text):
    assert format_value(value) == text


def test_a_sweep_expands_into_variants_after_its_template():
    config = validate_config(_config())
    names = list(config["variants"])
    assert names == ["untrained", "sg-sweep-m~0.1", "sg-sweep-m~0.3", "sg-sweep-m~1.0", "infonce", "pd"]
    assert sweep_points(config, "gd") == [(0.1, "sg-sweep-m~0.1"), (0.3, "sg-sweep-m~0.3"), (1.0, "sg-sweep-m~1.0")]
    point = config["variants"]["sg-sweep-m~0.3"]
    assert point["loss"] == "sg" and point["loss_args"] == {"tau": 0.05, "m": 0.3}
    assert point["train"] == {"lr": 1e-5} and point["seeds"] == [0] and point["models"] == ["m"]
    assert point["base"] == "sg-sweep" and point["template"] is False and point["eval_transfer"] is False
    assert point["description"] == "GD margin: loss_args.m = 0.3"
    assert "sg-sweep" not in config["variants"]  # a template is checked, then dropped


def test_a_non_template_variant_is_kept_and_a_paradigm_part_keeps_its_kind():
    config = _config(variant="pd", param="loss_args.weight.tau", values=[0.01, 0.05])
    config["variants"]["sg-sweep"]["template"] = False
    config = validate_config(config)
    assert "pd" in config["variants"] and "sg-sweep" in config["variants"]
    assert config["variants"]["pd-tau~0.01"]["loss_args"] == {
        "gd": {"kind": "margin", "m": 0.2},
        "weight": {"kind": "softmax", "tau": 0.01},
    }
    assert config["variants"]["pd-tau~0.05"]["loss_args"]["weight"]["tau"] == 0.05  # no shared mapping


def test_other_settings_can_be_swept():
    config = validate_config(_config(param="train.lr", values=[1.0e-5, 3.0e-5]))
    assert config["variants"]["sg-sweep-lr~1e-05"]["train"] == {"lr": 1e-5}
    config = validate_config(_config(param="pooler", values=["cls", "mean"]))
    assert config["variants"]["sg-sweep-pooler~mean"]["pooler"] == "mean"
    config = validate_config(_config(param="loss_args.weight", values=[True, False]))
    assert config["variants"]["sg-sweep-weight~false"]["loss_args"]["weight"] is False


def test_a_template_derived_variant_inherits_but_is_no_template():
    config = _config()
    config["variants"]["child"] = {"base": "sg-sweep", "loss_args": {"r": 1.5}}
    config = validate_config(config)
    assert config["variants"]["child"]["template"] is False and config["variants"]["child"]["seeds"] == [0]


def _broken(change: dict, variants: dict | None = None) -> dict:
    config = _config(**change)
    config["variants"].update(variants or {})
    return config


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        (_broken({"variant": "nope"}), "sweeps.gd.variant", "no variant 'nope'"),
        (_broken({"param": "loss_args.q"}), "sweeps.gd.param", "loss 'sg' has no hyperparameter 'q'; it has: gd, m"),
        (_broken({"param": "train.lrr"}), "sweeps.gd.param", "'train.lrr': no such setting; train settings: lr"),
        (_broken({"param": "loss.m"}), "sweeps.gd.param", "a sweep sets loss_args.<key>"),
        (_broken({"param": "loss_args..m"}), "sweeps.gd.param", "is not a dotted key"),
        (_broken({"variant": "untrained"}), "sweeps.gd.param", "variant 'untrained' is not trained"),
        (_broken({"values": []}), "sweeps.gd.values", "non-empty list"),
        (_broken({"values": 0.3}), "sweeps.gd.values", "non-empty list"),
        (_broken({"values": [0.1, 0.3, 0.1]}), "sweeps.gd.values.2", "0.1 repeats value 0"),
        (_broken({"values": [0.1, [1]]}), "sweeps.gd.values.1", "a number, a string or true/false"),
        (_broken({"values": [0.1, float("inf")]}), "sweeps.gd.values.1", "not a finite number"),
        (
            _broken({"values": [0.1, 0.3]}, {"sg-sweep-m~0.3": {"loss": "sg"}}),
            "sweeps.gd.values.1",
            "'sg-sweep-m~0.3' is already a variant",
        ),
        (_broken({"values": ["1e-5"]}), "sweeps.gd.values.0", "write it with a dot"),
        (_broken({"values": [0.1, True]}), "sweeps.gd.values.1", "loss 'sg': hyperparameter 'm' must be a real number"),
        (_broken({"param": "loss_args.tau", "values": [0.05, 0.0]}), "sweeps.gd.values.1", "tau"),
        (
            _broken({"param": "train.lr", "values": [-1.0]}),
            "sweeps.gd.values.0",
            "config key 'variants.sg-sweep-lr~-1.0.train.lr': -1.0 is less than or equal to the minimum",
        ),
        (_broken({"param": "pooler", "values": ["max"]}), "sweeps.gd.values.0", "'max' is not one of"),
        (_broken({"values": ["a/b"]}), "sweeps.gd.values.0", "'sg-sweep-m~a/b' is not a valid name"),
        (_broken({"typo": 1}), "sweeps.gd.typo", "unknown key"),
        (
            _broken({}, {"sg-sweep": {"loss": "sg", "template": True, "per_model": {"m": {"loss_args": {"m": 0.2}}}}}),
            "sweeps.gd.param",
            "set again in variants.sg-sweep.per_model.m",
        ),
        (_broken({}, {"lonely": {"loss": "sg", "template": True}}), "variants.lonely.template", "no variant or sweep"),
        (
            _broken({}, {"sg-sweep": {"loss": "sg", "template": True, "seeds": [5]}}),
            "variants.sg-sweep.seeds",
            "[5] not in the study's seeds",
        ),
        (
            _broken({}, {"sg-sweep": {"loss": "sg", "template": True, "models": ["x"]}}),
            "variants.sg-sweep.models",
            "['x'] not in the study's models",
        ),
    ],
)
def test_a_bad_sweep_is_rejected_naming_its_key(config, key, message):
    with pytest.raises(ConfigError) as info:
        validate_config(copy.deepcopy(config))
    assert info.value.key == key
    assert message in str(info.value)


def test_two_sweeps_making_one_name_collide():
    config = _config()
    config["sweeps"]["again"] = {"variant": "sg-sweep", "param": "loss_args.m", "values": [0.5, 1.0]}
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    assert info.value.key == "sweeps.again.values.1" and "also made by sweeps.gd.values.2" in str(info.value)


def test_a_part_may_select_sweep_points_by_pattern():
    from gradparadigm.config import part_variants

    config = validate_config({**_config(), "parts": {"p": {"variants": ["sg-sweep-m~*"]}}})
    assert part_variants(config, "p") == ["sg-sweep-m~0.1", "sg-sweep-m~0.3", "sg-sweep-m~1.0"]
    with pytest.raises(ConfigError, match="parts.p.variants.0"):  # the template is not a variant any more
        validate_config({**_config(), "parts": {"p": {"variants": ["sg-sweep"]}}})


@pytest.mark.parametrize(
    ("name", "model", "counts"),
    [
        ("config.yaml", "bert-base", {"gd-margin": 5, "w-temperature": 5, "r-ratio": 6}),
        ("configs/cpu.yaml", "minilm-l6", {"gd-margin": 4, "w-temperature": 4, "r-ratio": 4}),
    ],
)
def test_the_shipped_sweeps(name, model, counts):
    config = validate_config(yaml.safe_load((REPO / name).read_text()))
    assert {s: len(sweep_points(config, s)) for s in config["sweeps"]} == counts
    assert "sg" not in config["variants"]
    base = {"m": 0.3, "tau": 0.05, "r": 1.0}
    for sweep, key in (("gd-margin", "m"), ("w-temperature", "tau"), ("r-ratio", "r")):
        for value, variant in sweep_points(config, sweep):
            spec = config["variants"][variant]
            assert spec["loss"] == "sg" and spec["seeds"] == [0] and spec["eval_transfer"] is False
            assert spec.get("models", [model]) == [model]
            assert spec["loss_args"] == {key: value}  # the others are sg's defaults: m 0.3, tau 0.05, r 1
    from gradparadigm.losses import resolve_hparams

    assert {k: resolve_hparams("sg")[k] for k in base} == base


def _tiny():
    config = _config()
    del config["models"]["n"]
    config["variants"]["sg-sweep"].pop("models")
    del config["variants"]["pd"]
    config["eval"] = {"transfer_tasks": ["MR"]}
    return config


def test_dry_run_of_a_sweep_target_and_of_everything(tmp_path):
    out = dry_run(tmp_path, "sweep_gd", config=_tiny())
    # three points, seed 0 only (the template's seeds), STS only; the template is never trained
    counts = job_counts(out)
    assert counts["train"] == 3 and counts["eval_sts"] == 3 and counts["aggregate_sweep"] == 1
    assert "eval_transfer" not in counts and "aggregate" not in counts
    assert "results/sweeps/gd/table.md" in out and "results/sweeps/gd/figure.pdf" in out
    assert "results/m/sg-sweep-m~0.3/seed~0/sts.json" in out and "results/m/sg-sweep/" not in out

    out = dry_run(tmp_path, config=_tiny())
    counts = job_counts(out)
    # infonce on two seeds and three points on one; transfer: infonce's two and the baseline
    assert counts["train"] == 5 and counts["eval_sts"] == 6 and counts["eval_transfer"] == 3
    assert counts["aggregate"] == 1 and counts["aggregate_sweep"] == 1
    aggregate_job = out[out.index("rule aggregate:") :].split("\n[")[0]
    assert "infonce/seed~1/sts.json" in aggregate_job and "sg-sweep-m~" not in aggregate_job
