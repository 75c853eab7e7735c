"""Settings: schema and library agree; a study config resolves to one run's settings, layer by layer;
bad values fail naming the config key; the views key follows every setting that shapes the views."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from gradparadigm.config import SCHEMA, validate_config
from gradparadigm.errors import ConfigError
from gradparadigm.training.settings import (
    TRAIN_DEFAULTS,
    AugmentSettings,
    TrainSettings,
    resolve_run_settings,
    views_key,
)


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def test_schema_train_defaults_equal_the_library_defaults(schema):
    props = schema["properties"]["train"]["properties"]
    assert {key: spec["default"] for key, spec in props.items()} == TRAIN_DEFAULTS
    assert set(schema["$defs"]["train_settings"]["properties"]) == set(TRAIN_DEFAULTS)


def test_the_schema_does_not_repeat_the_loss_library(schema):
    """LOSS_NAMES is the one list: the schema takes any name, the registry checks it at parse time."""
    loss = schema["$defs"]["variant"]["properties"]["loss"]
    assert "enum" not in loss and loss["type"] == "string"
    assert all(name in loss["description"] for name in ("LOSS_NAMES", "module.path:ClassName"))


def _config(**variant) -> dict:
    return {
        "models": {"m1": {"source": "src1", "train": {"batch_size": 32, "lr": 2e-5}}, "m2": {"source": "src2"}},
        "variants": {"v": {"loss": "mhe", "pooler": "cls", **variant}},
        "train": {"lr": 1e-5, "eval_steps": 50},
    }


def test_layers_resolve_in_order():
    config = _config(
        train={"lr": 5e-6},
        loss_args={"gd": True},
        per_model={"m2": {"train": {"batch_size": 512}, "loss_args": {"r": 1.25}}},
    )
    m1 = resolve_run_settings(config, "m1", "v")
    m2 = resolve_run_settings(config, "m2", "v")
    assert m1["train"]["lr"] == 5e-6 and m1["train"]["batch_size"] == 32 and m1["train"]["eval_steps"] == 50
    assert m2["train"]["batch_size"] == 512 and m2["train"]["lr"] == 5e-6
    assert m2["train"]["max_length"] == TRAIN_DEFAULTS["max_length"]
    assert m1["loss_args"]["r"] == 1.75 and m2["loss_args"]["r"] == 1.25  # mod MHE defaults, then override
    assert m1["loss_args"]["gd"] is True and m1["loss_args"]["lam"] == 1.0
    assert m1["model_source"] == "src1" and m1["augment"] == {"strategy": "dropout", "rate": 0.0}


def test_untrained_variant_has_no_run_settings():
    config = _config()
    config["variants"]["base"] = {"loss": "none", "pooler": "mean"}
    assert resolve_run_settings(config, "m1", "base") is None


@pytest.mark.parametrize(
    ("variant", "key"),
    [
        ({"loss_args": {"temperature": 0.1}}, "variants.v.loss_args"),
        ({"per_model": {"m1": {"loss_args": {"gd": "yes"}}}}, "variants.v.per_model.m1.loss_args"),
        ({"per_model": {"bert": {}}}, "variants.v.per_model.bert"),
        ({"train": {"batch_size": 1}}, "variants.v.train.batch_size"),
        ({"per_model": {"m1": {"train": {"head": "mlp"}}}}, "variants.v.per_model.m1.train.head"),
        ({"train": {"learning_rate": 1e-5}}, "variants.v.train.learning_rate"),
        ({"augment": {"strategy": "word_deletion", "rate": 0}}, "variants.v.augment.rate"),
        ({"augment": {"strategy": "crop"}}, "variants.v.augment.strategy"),
    ],
)
def test_bad_values_name_their_config_key(variant, key):
    with pytest.raises(ConfigError) as info:
        resolve_run_settings(_config(**variant), "m1", "v")
    assert info.value.key == key


def test_model_layer_errors_name_the_model():
    config = _config()
    config["models"]["m1"]["train"]["grad_clip"] = 0
    with pytest.raises(ConfigError) as info:
        resolve_run_settings(config, "m1", "v")
    assert info.value.key == "models.m1.train.grad_clip"


def test_resolution_does_not_modify_the_config():
    config = _config(loss_args={"gd": True}, per_model={"m1": {"train": {"lr": 1e-6}}})
    before = copy.deepcopy(config)
    resolve_run_settings(config, "m1", "v")
    assert config == before


def test_train_settings_validation():
    assert TrainSettings().to_dict() == TRAIN_DEFAULTS
    for bad in (
        {"lr": 0},
        {"max_steps": 0},
        {"warmup_ratio": 1.0},
        {"device": "gpu"},
        {"precision": "fp16"},
        {"freeze_embeddings": 1},
        {"eval_steps": 2.5},
        {"lr": float("inf")},
        {"grad_clip": float("nan")},
    ):
        with pytest.raises(ConfigError, match=rf"'train\.{next(iter(bad))}'"):
            TrainSettings(**bad)


def test_the_library_validates_training_settings_with_the_schema_alone():
    """One rule of truth: TrainSettings checks itself with the schema's $defs/train_settings (package
    data), so the CLI's --settings and the workflow's config give the same message for a value."""
    with pytest.raises(ConfigError, match=r"config key '--settings\.batch_size': 1 is less than the minimum of 2"):
        TrainSettings.from_dict({"batch_size": 1}, where="--settings")
    with pytest.raises(ConfigError, match=r"'--settings\.lrr': unknown key; valid keys here: lr, batch_size"):
        TrainSettings.from_dict({"lrr": 1e-5}, where="--settings")
    with pytest.raises(ConfigError, match=r"'train\.lr': must be a finite number, got inf"):
        TrainSettings(lr=float("inf"))
    config = {"models": {"m": {"source": "x"}}, "variants": {"v": {"loss": "infonce", "train": {"batch_size": 1}}}}
    with pytest.raises(ConfigError, match=r"'variants\.v\.train\.batch_size': 1 is less than the minimum of 2"):
        validate_config(config)
    assert SCHEMA.parent.name == "schemas" and SCHEMA.parent.parent.name == "gradparadigm"  # package data


@pytest.mark.parametrize(
    ("augment", "message"),
    [
        ({"strategy": "word_deletion", "rate": 1.0}, "'augment.rate': word deletion needs a rate < 1, got 1.0"),
        ({"strategy": "token_shuffle", "rate": 0}, "'augment.rate': a rate of 0 is plain dropout; set a rate > 0"),
        ({"strategy": "crop"}, "'augment.strategy': 'crop' is not one of"),
        ({"rate": 1.5}, "'augment.rate': 1.5 is greater than the maximum of 1"),
    ],
)
def test_augmentation_rules_live_in_the_schema(augment, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        AugmentSettings(**augment)
    AugmentSettings("token_shuffle", 1.0)  # a full shuffle is fine
    assert (AugmentSettings().strategy, AugmentSettings().rate) == ("dropout", 0.0)


def test_views_key_follows_every_setting_that_shapes_the_views():
    dropout = AugmentSettings()
    base = views_key("src", 32, dropout, seed=0)
    assert base.startswith("dropout-len32-")
    assert views_key("src", 32, dropout, seed=7) == base  # dropout views do not depend on the seed
    deletion = AugmentSettings("word_deletion", 0.1)
    keys = {
        base,
        views_key("other", 32, dropout, 0),
        views_key("src", 64, dropout, 0),
        views_key("src", 32, deletion, 0),
        views_key("src", 32, deletion, 1),
        views_key("src", 32, AugmentSettings("word_deletion", 0.2), 0),
        views_key("src", 32, AugmentSettings("token_shuffle", 0.1), 0),
    }
    assert len(keys) == 7
    assert views_key("src", 32, deletion, 1).startswith("word_deletion-r0.1-len32-seed1-")
    assert views_key("src", 32, {"strategy": "word_deletion", "rate": 0.1}, 1) == views_key("src", 32, deletion, 1)


def test_untrained_variant_rejects_training_keys():
    config = _config()
    config["variants"]["base"] = {"loss": "none", "loss_args": {}, "train": {"lr": 1e-5}}
    with pytest.raises(ConfigError) as info:
        resolve_run_settings(config, "m1", "base")
    assert info.value.key == "variants.base.train"


def test_training_code_version_ignores_code_that_does_not_shape_a_model():
    from gradparadigm.provenance import code_digest
    from gradparadigm.training.settings import TRAINING_CODE, training_code_version

    package = Path(__import__("gradparadigm").__file__).parent
    assert all((package / part).exists() for part in TRAINING_CODE)
    from gradparadigm.provenance import digest_files, package_files
    from gradparadigm.training.settings import loss_code_files

    assert training_code_version() == digest_files(package_files(TRAINING_CODE) | loss_code_files(None))
    assert training_code_version() != code_digest()  # the CLI, reporting, transfer evaluation: not in it
