"""Config validation: through the library, and through Snakemake before any job runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from gradparadigm.config import validate_config
from gradparadigm.errors import ConfigError

from snakemake_testkit import REPO, SNAKEMAKE, dry_run, job_counts, snakemake


def _minimal(**extra):
    return {"models": {"m": {"source": "packaged:all-MiniLM-L6-v2"}}, "variants": {"v": {"loss": "none"}}, **extra}


@pytest.mark.parametrize("name", ["config.yaml", "configs/cpu.yaml"])
def test_shipped_configs_are_valid(name):
    config = validate_config(yaml.safe_load((REPO / name).read_text()))
    assert config["eval"]["batch_size"] == 128  # defaults filled in


def test_defaults_are_filled_in():
    config = validate_config(_minimal())
    assert config["seeds"] == [0]
    assert config["variants"]["v"]["pooler"] == "cls"
    assert config["data"]["senteval"]["local_dir"] is None and config["data"]["verify_checksums"] is True


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"bogus": 1}, "bogus", "unknown key; valid keys here: models, variants"),
        ({"eval": {"batch_size": "big"}}, "eval.batch_size", "'big' is not of type 'integer'"),
        ({"variants": {"v": {"loss": "none", "pooler": "max"}}}, "variants.v.pooler", "'max' is not one of"),
        ({"variants": {"v": {"loss": "none", "typo": 1}}}, "variants.v.typo", "unknown key"),
        ({"models": {"tables": {"source": "x"}}}, "models.tables", "none of the names of results/'s own entries"),
        ({"models": {"README.md": {"source": "x"}}}, "models.README.md", "not a valid name"),
        ({"variants": {"cache": {"loss": "none"}}}, "variants.cache", "not a valid name"),
        ({"variants": {"a/b": {"loss": "none"}}}, "variants.a/b", "not a valid name"),
        ({"seeds": [1, 1]}, "seeds", "non-unique"),
        ({"eval": {"device": "gpu"}}, "eval.device", "does not match"),
    ],
)
def test_bad_values_name_the_key(change, key, message):
    with pytest.raises(ConfigError) as info:
        validate_config(_minimal(**change))
    assert info.value.key == key
    assert message in str(info.value)


def _snakemake(tmp_path: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    return snakemake(tmp_path, *args, config=config)


def test_snakemake_reports_config_errors_before_any_job(tmp_path):
    result = _snakemake(tmp_path, _minimal(variants={"v": {"loss": "none", "pooler": "max"}}), "--cores", "1")
    assert result.returncode != 0
    assert "config key 'variants.v.pooler': 'max' is not one of ['cls', 'mean']" in result.stderr
    assert not (tmp_path / "results").exists()


def test_dry_run_of_the_shipped_study_and_lint():
    result = subprocess.run([*SNAKEMAKE, "-n", "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lint = subprocess.run(
        [*SNAKEMAKE, "--lint", "--configfile", "configs/cpu.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr


# --- variants derived from a base, parts ---------------------------------------------------------


def _study(**variants):
    mod = {
        "loss": "vicreg",
        "loss_args": {"gd": True, "weight": True, "ratio": True},
        "train": {"lr": 1e-5},
        "per_model": {"m": {"loss_args": {"r": 1.25}}},
        "description": "mod",
    }
    return _minimal(variants={"vicreg-mod": mod, **variants})


def test_a_variant_derives_from_its_base_and_overrides_only_what_it_states():
    config = validate_config(
        _study(
            **{
                "vicreg-mod-no-gd": {"base": "vicreg-mod", "loss_args": {"gd": False}},
                "again": {"base": "vicreg-mod-no-gd", "pooler": "mean"},
            }
        )
    )
    child = config["variants"]["vicreg-mod-no-gd"]
    assert child["loss"] == "vicreg" and child["base"] == "vicreg-mod"
    assert child["loss_args"] == {"gd": False, "weight": True, "ratio": True}
    assert child["per_model"] == {"m": {"loss_args": {"r": 1.25}}} and child["train"] == {"lr": 1e-5}
    assert "description" not in child  # not inherited
    grandchild = config["variants"]["again"]
    assert grandchild["loss_args"]["gd"] is False and grandchild["pooler"] == "mean"
    assert config["variants"]["vicreg-mod"]["loss_args"]["gd"] is True  # the base is untouched


@pytest.mark.parametrize(
    ("variants", "key", "message"),
    [
        ({"x": {"base": "nope"}}, "variants.x.base", "no variant 'nope'"),
        ({"x": {"base": "y"}, "y": {"base": "x"}}, "variants.y.base", "circular: x -> y -> x"),
        ({"x": {"base": 3}}, "variants.x.base", "is not a variant name"),
        (
            {"x": {"base": "vicreg-mod", "loss_args": {"gd": False}, "train": {"lr": -1}}},
            "variants.x.train.lr",
            "less than or equal to the minimum",
        ),
        ({"x": {"base": "vicreg-mod", "typo": 1}}, "variants.x.typo", "unknown key"),
    ],
)
def test_a_broken_derived_variant_names_its_key(variants, key, message):
    with pytest.raises(ConfigError) as info:
        validate_config(_study(**variants))
    assert info.value.key == key
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("parts", "key", "message"),
    [
        ({"p": {"variants": ["vicreg-*", "*-none"]}}, "parts.p.variants.1", "'*-none' matches no variant"),
        ({"p": {"variants": ["vicreg-mod"], "seeds": [7]}}, "parts.p.seeds", "[7] not in the study's seeds"),
        ({"p": {"seeds": [0]}}, "parts.p", "'variants' is a required property"),
        ({"p q": {"variants": ["vicreg-mod"]}}, "parts.p q", "not a valid name"),
    ],
)
def test_a_broken_part_names_its_key(parts, key, message):
    with pytest.raises(ConfigError) as info:
        validate_config({**_study(), "parts": parts})
    assert info.value.key == key
    assert message in str(info.value)


def test_part_variants_match_names_and_patterns_in_config_order():
    from gradparadigm.config import part_variants

    config = validate_config(
        _study(
            **{"vicreg-mod-no-gd": {"base": "vicreg-mod", "loss_args": {"gd": False}}, "base-line": {"loss": "none"}},
        )
        | {"parts": {"p": {"variants": ["base-line", "*-no-gd", "vicreg-mod"]}}}
    )
    assert part_variants(config, "p") == ["vicreg-mod", "vicreg-mod-no-gd", "base-line"]
    assert config["parts"]["p"]["transfer"] is True


def test_the_paper_grid_derives_every_ablation():
    config = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    ablations = [v for v, spec in config["variants"].items() if spec.get("base", "").endswith("-mod")]
    assert len(ablations) == 12
    for name in ablations:
        spec, parent = config["variants"][name], config["variants"][config["variants"][name]["base"]]
        switched = [k for k in ("gd", "weight", "ratio") if spec["loss_args"][k] != parent["loss_args"][k]]
        assert len(switched) == 1 and spec["per_model"] == parent.get("per_model", {}) and not spec["eval_transfer"]
    assert {"infonce", "arccon", "mpt", "met", "mat"} <= set(config["variants"]) and len(config["seeds"]) >= 3


def test_config_files_are_read_strictly(tmp_path):
    from gradparadigm.config import check_config_files
    from gradparadigm.errors import DataFormatError

    dup = tmp_path / "dup.yaml"
    dup.write_text("models:\n  m: {source: x}\nvariants:\n  a: {loss: none}\n  a: {loss: none, pooler: mean}\n")
    with pytest.raises(DataFormatError, match=r"dup.yaml:5: duplicate key 'a' \(first on line 4\)"):
        check_config_files([dup])
    check_config_files([REPO / "config.yaml", REPO / "configs" / "cpu.yaml", REPO / "configs" / "offline.yaml"])


def _dry_run_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Job counts of a dry run of the real Snakefile on the CPU study, in an empty folder."""
    configfiles = (REPO / "configs/cpu.yaml", REPO / "configs/offline.yaml")
    return job_counts(dry_run(workdir, *args, configfiles=configfiles))


def test_parts_build_their_runs_only(tmp_path):
    ablations = _dry_run_jobs(tmp_path, "part_ablations-mhe-mhs-seed0")
    assert ablations["train"] == 6 and ablations["eval_sts"] == 6 and "eval_transfer" not in ablations
    main = _dry_run_jobs(tmp_path, "part_ori-mod-seed0")  # 8 trained runs and the two untrained baselines, STS only
    assert main["train"] == 8 and main["eval_sts"] == 10 and "eval_transfer" not in main
    transfer = _dry_run_jobs(tmp_path, "part_transfer-met-mat-seed1")  # two encoders, one seed
    assert transfer["eval_transfer"] == 2 and transfer["train"] == 2 and transfer["eval_sts"] == 2
    references = _dry_run_jobs(tmp_path, "part_transfer-references")  # 5 x 3 seeds + 2 baselines
    assert references["eval_transfer"] == 17 and references["train"] == 15
