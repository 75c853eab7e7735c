# Configuration, validation and the small helpers every rule file uses. No rules here.
import os
import re
import shlex
import sys
from pathlib import Path

REPO = Path(workflow.basedir)
sys.path.insert(0, str(REPO / "src"))
from gradparadigm.config import validate_config

# Fills in the schema's defaults; a problem stops the run here, naming the config key.
validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
ENV = "../../environment.yml"

# Every rule runs `python -m gradparadigm` from this checkout's src/, so a job always runs the code
# of the workflow it belongs to (also inside a conda env that has only the dependencies). Without
# --software-deployment-method conda, `python` is the interpreter that runs Snakemake, so a
# virtualenv need not be activated; with it, the env's own. Set in the job's shell, this holds on
# cluster nodes too.
_path = (
    ""
    if "conda" in str(workflow.deployment_settings.deployment_method).lower()
    else f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH; "
)
shell.prefix(
    f"set -euo pipefail; {_path}"
    f"export PYTHONPATH={shlex.quote(str(REPO / 'src'))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)

MODELS = config["models"]
VARIANTS = config["variants"]
SEEDS = config["seeds"]


def _local(env_var, value):
    """A local data path from the environment (wins) or the config; None means download."""
    value = os.environ.get(env_var) or value
    return str(Path(value).expanduser().resolve()) if value else None


SENTEVAL_LOCAL = _local(
    "GRADPARADIGM_SENTEVAL_DIR", config["data"]["senteval"]["local_dir"]
)
CORPUS_LOCAL = _local(
    "GRADPARADIGM_CORPUS_FILE", config["data"]["corpus"]["local_file"]
)
VERIFY_FLAG = "" if config["data"]["verify_checksums"] else "--no-verify"


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)),
    variant="|".join(map(re.escape, VARIANTS)),
    seed=r"\d+",


def is_trained(variant):
    return VARIANTS[variant]["loss"] != "none"


def variant_seeds(variant):
    """Untrained baselines are deterministic: one evaluation (the first seed) is enough."""
    return SEEDS if is_trained(variant) else SEEDS[:1]


def run_dirs():
    """results/{model}/{variant}/seed~{seed} for every run of the study."""
    return [
        f"results/{model}/{variant}/seed~{seed}"
        for model in MODELS
        for variant in VARIANTS
        for seed in variant_seeds(variant)
    ]


def senteval_source(wildcards):
    if SENTEVAL_LOCAL:
        return f"--local-dir {SENTEVAL_LOCAL!r}"
    return f"--url {config['data']['senteval']['url']!r}"


def corpus_source(wildcards):
    if CORPUS_LOCAL:
        return f"--local-file {CORPUS_LOCAL!r}"
    return f"--url {config['data']['corpus']['url']!r}"


def eval_model_source(wildcards):
    """What eval rules load: the base encoder for an untrained variant."""
    return MODELS[wildcards.model]["source"]


def transfer_results():
    """transfer.json of every run, or nothing when eval.transfer_tasks is empty."""
    if not config["eval"]["transfer_tasks"]:
        return []
    return expand("{run}/transfer.json", run=run_dirs())


def transfer_tables():
    if not config["eval"]["transfer_tasks"]:
        return []
    return multiext("results/tables/transfer", ".md", ".tex", ".csv", "_long.csv")
