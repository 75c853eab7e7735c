"""Config validation: through the library, and through Snakemake before any job runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gradparadigm.config import validate_config
from gradparadigm.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


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


@pytest.mark.parametrize(("change", "key", "message"), [
    ({"bogus": 1}, "bogus", "unknown key; valid keys here: models, variants"),
    ({"eval": {"batch_size": "big"}}, "eval.batch_size", "'big' is not of type 'integer'"),
    ({"variants": {"v": {"loss": "none", "pooler": "max"}}}, "variants.v.pooler", "'max' is not one of"),
    ({"variants": {"v": {"loss": "none", "typo": 1}}}, "variants.v.typo", "unknown key"),
    ({"models": {"tables": {"source": "x"}}}, "models.tables", "reserved names"),
    ({"variants": {"a/b": {"loss": "none"}}}, "variants.a/b", "not a valid name"),
    ({"seeds": [1, 1]}, "seeds", "non-unique"),
    ({"eval": {"device": "gpu"}}, "eval.device", "does not match"),
])
def test_bad_values_name_the_key(change, key, message):
    with pytest.raises(ConfigError) as info:
        validate_config(_minimal(**change))
    assert info.value.key == key
    assert message in str(info.value)


def _snakemake(tmp_path: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(tmp_path / "config.yaml"), *args],
                          capture_output=True, text=True, timeout=120)


def test_snakemake_reports_config_errors_before_any_job(tmp_path):
    result = _snakemake(tmp_path, _minimal(variants={"v": {"loss": "none", "pooler": "max"}}), "--cores", "1")
    assert result.returncode != 0
    assert "config key 'variants.v.pooler': 'max' is not one of ['cls', 'mean']" in result.stderr
    assert not (tmp_path / "results").exists()


def test_dry_run_of_the_shipped_study_and_lint():
    result = subprocess.run([*SNAKEMAKE, "-n", "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lint = subprocess.run([*SNAKEMAKE, "--lint", "--configfile", "configs/cpu.yaml"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
