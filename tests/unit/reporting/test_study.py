"""The study description: each variant's role, family and the paper's order."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml
from reporting_testkit import ON, STUDY_CONFIG, make_study

from gradparadigm.config import validate_config
from gradparadigm.reporting.study import ablation_sets, describe_study, ori_mod_pairs, switch_role, variant_order
from gradparadigm.sweeps import sweep_points
from gradparadigm.training.settings import resolve_run_settings

REPO = Path(__file__).resolve().parents[3]


def test_roles_family_base_and_paper_order(study):
    variants = study["variants"]
    assert list(variants) == [
        "untrained",
        "infonce",
        "mhe-ori",
        "mhe-mod",
        "mhe-no-gd",
        "mhe-no-r",
        "mhe-gd-only",
        "bt-ori",
        "bt-mod",
    ]
    roles = {v: (info["role"], info["ablated"]) for v, info in variants.items()}
    assert roles == {
        "untrained": ("baseline", None),
        "infonce": ("contrastive", None),
        "mhe-ori": ("ori", None),
        "mhe-mod": ("mod", None),
        "mhe-no-gd": ("ablation", "gd"),
        "mhe-no-r": ("ablation", "ratio"),
        "mhe-gd-only": ("custom", None),
        "bt-ori": ("ori", None),
        "bt-mod": ("mod", None),
    }
    assert variants["bt-mod"]["family"] == "barlow_twins" and variants["bt-mod"]["label"] == "Barlow Twins mod"
    assert variants["mhe-no-gd"]["base"] == "mhe-mod" and variants["mhe-no-r"]["base"] is None
    assert variants["untrained"]["pooler"] == "mean" and variants["untrained"]["label"] == "untrained (mean)"
    assert variants["mhe-mod"]["description"] == "MHE with GD, W and R"
    assert study["models"] == {"m1": {"source": "packaged:all-MiniLM-L6-v2"}, "m2": {"source": "bert-base-uncased"}}
    assert study["runs"]["m2/mhe-mod"] == {
        "steps": 100,
        "epochs": 1,
        "batch_size": 64,
        "lr": 3e-5,
        "max_sentences": 1000,
    }
    assert "m1/untrained" not in study["runs"] and study["seeds"] == [0, 1, 2]


def test_switches_decide_the_role():
    assert switch_role({"gd": False, "weight": False, "ratio": False}) == ("ori", None)
    assert switch_role(ON) == ("mod", None)
    assert switch_role({**ON, "weight": False}) == ("ablation", "weight")
    assert switch_role({"gd": True, "weight": False, "ratio": False}) == ("custom", None)


def test_a_variant_whose_switches_differ_between_models_is_custom():
    config = copy.deepcopy(STUDY_CONFIG)
    config["variants"]["mhe-mod"]["per_model"] = {"m2": {"loss_args": {"gd": False}}}
    assert make_study(config)["variants"]["mhe-mod"]["role"] == "custom"


def test_pairs_follow_base_then_the_first_of_the_family(study):
    assert ori_mod_pairs(study) == [("mhe", "mhe-ori", "mhe-mod"), ("barlow_twins", "bt-ori", "bt-mod")]
    assert ablation_sets(study) == [("mhe", "mhe-mod", {"gd": "mhe-no-gd", "ratio": "mhe-no-r"})]
    config = copy.deepcopy(STUDY_CONFIG)
    config["variants"]["mhe-mod2"] = {"loss": "mhe", "loss_args": {**ON, "r": 1.0}}
    config["variants"]["mhe-no-w2"] = {"loss": "mhe", "loss_args": {**ON, "weight": False}, "base": "mhe-mod2"}
    study = make_study(config)
    assert ori_mod_pairs(study)[:2] == [("mhe", "mhe-ori", "mhe-mod"), ("mhe", "mhe-ori", "mhe-mod2")]
    assert ablation_sets(study) == [
        ("mhe", "mhe-mod", {"gd": "mhe-no-gd", "ratio": "mhe-no-r"}),
        ("mhe", "mhe-mod2", {"weight": "mhe-no-w2"}),
    ]


def test_the_paper_study_config():
    config = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    runs = {
        (m, v): run
        for m in config["models"]
        for v in config["variants"]
        if (run := resolve_run_settings(config, m, v)) is not None
    }
    study = describe_study(config, runs)
    json.dumps(study)  # JSON-ready
    family_block = [
        ("{}-ori", "ori"),
        ("{}-mod", "mod"),
        ("{}-mod-no-gd", "ablation"),
        ("{}-mod-no-w", "ablation"),
        ("{}-mod-no-r", "ablation"),
    ]
    assert [(v, info["role"]) for v, info in study["variants"].items()] == [
        ("untrained-cls", "baseline"),
        ("untrained-mean", "baseline"),
        *[(name, "contrastive") for name in ("infonce", "arccon", "mpt", "met", "mat")],
        *[(name, "contrastive") for sweep in config["sweeps"] for _, name in sweep_points(config, sweep)],  # sg
        *[
            (name.format(family), role)
            for family in ("mhe", "mhs", "barlow-twins", "vicreg")
            for name, role in family_block
        ],
    ]
    assert {study["variants"][f"vicreg-mod-no-{c}"]["ablated"] for c in ("gd", "w", "r")} == {"gd", "weight", "ratio"}
    assert study["runs"]["roberta-base/mhe-ori"]["lr"] == 1e-6
    assert study["runs"]["bert-base/infonce"]["batch_size"] == 64
    assert variant_order(study) == list(study["variants"])
