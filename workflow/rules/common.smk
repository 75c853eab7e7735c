# Configuration, validation and the small helpers every rule file uses. No rules here.
import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

REPO = Path(workflow.basedir)
sys.path.insert(
    0, str(REPO / "src")
)  # this checkout's library, ahead of any installed copy
# Losses from outside the package (`loss: module:Class`) may live in the working directory, as
# they do for the jobs (`python -m` puts it on the path); last, so it shadows nothing.
sys.path.append(os.getcwd())
from gradparadigm.config import check_config_files, part_variants, validate_config
from gradparadigm.sweeps import point_variants, sweep_points
from gradparadigm.devices import available_gpus
from gradparadigm.errors import ConfigError, DataFormatError, DeviceError
from gradparadigm.fileio import write_text_atomic

# The config files read strictly (Snakemake's reader keeps the last of two equal keys and names no
# line on a syntax error), then validated: the schema's defaults filled in, a problem stops the
# run here, naming the file and line or the config key.
try:
    check_config_files(workflow.config_settings.configfiles or [REPO / "config.yaml"])
except DataFormatError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None
validate_config(
    config
)  # the schema: gradparadigm/schemas/config.schema.yaml (package data)

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

# The library resolves each run's settings at parse time (from this checkout's src/, put first on
# sys.path above), so that an unknown loss hyperparameter or training setting fails before any job
# starts, naming its config key.
from gradparadigm.training.settings import (
    RECORDING_SETTINGS,
    resolve_run_settings,
    shaping_settings,
    training_code_version,
    views_key,
)


def variant_models(variant):
    """The models a variant runs on: its own `models`, else every model of the study."""
    return VARIANTS[variant].get("models") or list(MODELS)


try:  # every variant is checked; untrained ones (loss: none) resolve to None
    RUNS = {
        (model, variant): run
        for model in MODELS
        for variant in VARIANTS
        if model in variant_models(variant)
        and (run := resolve_run_settings(config, model, variant)) is not None
    }
except ConfigError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None


def _write_recording_table(path="results/recording.json"):
    """Write every run's recording settings (log_steps, checkpoint_steps, dynamics), keyed by
    "<model>/<variant>", where the train rule's shell reads them (`--recording @<path>`),
    atomically and only when they changed. It is neither an input nor a param on purpose: params
    are a rerun trigger and these settings do not change the model, so a changed log_steps must
    not retrain (`snakemake -R train` records a finished run anew). Written when the workflow
    starts (onstart), so that a dry run, a lint or a failed parse writes nothing."""
    table = {
        f"{model}/{variant}": {key: run["train"][key] for key in RECORDING_SETTINGS}
        for (model, variant), run in RUNS.items()
    }
    text = json.dumps(table, indent=1, sort_keys=True) + "\n"
    target = Path(path)
    if not (target.is_file() and target.read_text() == text):
        write_text_atomic(target, text)


onstart:
    _write_recording_table()


# A hash of the library code that shapes a trained model (trainer, encoder, STS-B dev scoring and
# the run's own loss; gradparadigm.training.settings.TRAINING_CODE): in the train rule's params, so
# `--rerun-triggers params` (a default trigger) retrains when that code changes. Snakemake's own
# code trigger does not see src/. One per loss: an edit to one loss retrains only its runs.
TRAIN_CODE_VERSIONS = {
    loss: training_code_version(loss)
    for loss in {spec["loss"] for spec in VARIANTS.values()} - {"none"}
}


def train_code_version(wildcards):
    return TRAIN_CODE_VERSIONS[VARIANTS[wildcards.variant]["loss"]]


# The same for evaluation: the encoder and the evaluators, in both eval rules' params, so a changed
# evaluator re-evaluates every encoder, the untrained baselines included (their inputs do not change).
from gradparadigm.provenance import code_digest

STS_CODE_VERSION = code_digest(("encoder.py", "evaluation/sts.py", "data/sts.py"))
TRANSFER_CODE_VERSION = code_digest(
    (
        "encoder.py",
        "evaluation/transfer.py",
        "evaluation/classifiers.py",
        "evaluation/embedding_cache.py",
        "data/transfer_tasks.py",
    )
)


from gradparadigm.data.fetch import source_state


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
# what the fetch rules get: a URL or a local path, and what a checksum mismatch does
SENTEVAL_SOURCE = SENTEVAL_LOCAL or config["data"]["senteval"]["url"]
CORPUS_SOURCE = CORPUS_LOCAL or config["data"]["corpus"]["url"]
CHECKSUMS = "verify" if config["data"]["verify_checksums"] else "warn"


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)),
    variant="|".join(map(re.escape, VARIANTS)),
    seed=r"\d+",


def is_trained(variant):
    return VARIANTS[variant]["loss"] != "none"


def variant_seeds(variant):
    """The variant's own `seeds` (default: the study's); untrained baselines are deterministic:
    one evaluation (the first seed) is enough."""
    seeds = VARIANTS[variant].get("seeds") or SEEDS
    return seeds if is_trained(variant) else seeds[:1]


def study_runs(variants=None, seeds=None):
    """(model, variant, seed) of every run of the study, or of the given variants and seeds."""
    return [
        (model, variant, seed)
        for model in MODELS
        for variant in (VARIANTS if variants is None else variants)
        if model in variant_models(variant)
        for seed in variant_seeds(variant)
        if seeds is None or seed in seeds or not is_trained(variant)
    ]


def run_dir(run):
    model, variant, seed = run
    return f"results/{model}/{variant}/seed~{seed}"


def run_dirs(runs=None):
    """results/{model}/{variant}/seed~{seed} of the given runs (default: every run)."""
    return [run_dir(run) for run in (study_runs() if runs is None else runs)]


def part_runs(part):
    """The runs of one part of the study (config `parts`)."""
    return study_runs(part_variants(config, part), config["parts"][part].get("seeds"))


SWEEPS = config["sweeps"]
SWEEP_POINTS = point_variants(config)  # variant -> (sweep, index of its value)


def sweep_runs(sweep):
    """The runs of one sweep's points (config `sweeps`)."""
    return study_runs([variant for _, variant in sweep_points(config, sweep)])


def study_variants():
    """The variants of the study-wide tables and figures: every one but the sweeps' points (they
    have their own, results/sweeps/)."""
    return [variant for variant in VARIANTS if variant not in SWEEP_POINTS]


def trained_model_dir(wildcards):
    return f"results/{wildcards.model}/{wildcards.variant}/seed~{wildcards.seed}/model"


def eval_model_input(wildcards):
    """The trained model folder an eval rule needs (nothing for an untrained baseline)."""
    return trained_model_dir(wildcards) if is_trained(wildcards.variant) else []


def eval_model_source(wildcards):
    """What eval rules load: the trained model, or the base encoder for an untrained variant."""
    if is_trained(wildcards.variant):
        return trained_model_dir(wildcards)
    return MODELS[wildcards.model]["source"]


def transfer_results(runs=None):
    """transfer.json of the runs (default: all) evaluated on transfer tasks: variants with
    eval_transfer, seeds in eval.transfer_seeds; nothing when eval.transfer_tasks is empty.
    """
    if not config["eval"]["transfer_tasks"]:
        return []
    seeds = config["eval"]["transfer_seeds"]
    return [
        f"{run_dir((model, variant, seed))}/transfer.json"
        for model, variant, seed in (study_runs() if runs is None else runs)
        if VARIANTS[variant]["eval_transfer"]
        and (seeds is None or seed in seeds or not is_trained(variant))
    ]


# GPU jobs claim a free GPU of their own when they start (gradparadigm.devices); here only whether
# this machine has any (nvidia-smi -L, CUDA_VISIBLE_DEVICES or GRADPARADIGM_GPUS), asked once.
try:
    HAS_GPUS = bool(available_gpus())
except DeviceError as exc:
    raise WorkflowError(f"invalid GPU setting: {exc}") from None


def eval_gpus(wildcards):
    """An evaluation counts against the GPU limit (`--resources gpu=N`) only where it will use a GPU;
    on a machine without one it runs beside training, as a CPU job."""
    return int(HAS_GPUS and config["eval"]["device"] != "cpu")


def eval_encoder(wildcards):
    """What both eval rules encode with: which model, pooler, batching, device. A params entry, so
    a change of any of them re-evaluates."""
    settings = config["eval"]
    return {
        "model": eval_model_source(wildcards),
        "pooler": VARIANTS[wildcards.variant]["pooler"],
        "batch_size": settings["batch_size"],
        "max_length": settings["max_length"] or "none",  # none: the tokenizer's limit
        "device": settings["device"],
    }


def statistics_settings(wildcards):
    """What `gradparadigm statistics` needs of one run: the encoder eval rules load, its training
    batch size and max length (for an untrained baseline: the model's train settings), the
    config's `statistics` sample and grids, eval.device."""
    model, variant = wildcards.model, wildcards.variant
    if is_trained(variant):
        train = RUNS[(model, variant)]["train"]
    else:
        train = {**config["train"], **(MODELS[model].get("train") or {})}
    settings = config["statistics"]
    return {
        "model": eval_model_source(wildcards),
        "pooler": VARIANTS[variant]["pooler"],
        "batch_size": train["batch_size"],
        "max_length": train["max_length"],
        "n_sentences": settings["n_sentences"],
        "seed": settings["seed"],
        "taus": settings["taus"],
        "margins": settings["margins"],
        "device": config["eval"]["device"],
    }


def statistics_results(runs=None):
    """statistics.json of the runs (default: all)."""
    return [f"{run}/statistics.json" for run in run_dirs(runs)]


# --- training --------------------------------------------------------------------------------


def trained_variants_regex():
    trained = [re.escape(v) for v in VARIANTS if is_trained(v)]
    return "|".join(trained) if trained else "(?!)"  # (?!) matches nothing


def run_settings(wildcards):
    return RUNS[(wildcards.model, wildcards.variant)]


def run_views_key(model, variant, seed):
    run = RUNS[(model, variant)]
    return views_key(
        run["model_source"], run["train"]["max_length"], run["augment"], int(seed)
    )


def train_views_dir(wildcards):
    key = run_views_key(wildcards.model, wildcards.variant, wildcards.seed)
    return f"results/views/{wildcards.model}/{key}"


# views key -> (model source, max length, augmentation, seed): the views every run needs
VIEWS = {
    (model, run_views_key(model, variant, seed)): (
        RUNS[(model, variant)]["model_source"],
        RUNS[(model, variant)]["train"]["max_length"],
        RUNS[(model, variant)]["augment"],
        seed,
    )
    for (model, variant) in RUNS
    for seed in variant_seeds(variant)
}


def views_settings(wildcards):
    """What `gradparadigm augment` makes the views of: the tokenizer, max length, augmentation
    and seed of one views key."""
    try:
        source, max_length, augment, seed = VIEWS[
            (wildcards.model, wildcards.views_key)
        ]
    except KeyError:
        raise WorkflowError(
            f"no run of this config uses views {wildcards.model}/{wildcards.views_key}"
        ) from None
    return {
        "model": source,
        "max_length": max_length,
        "strategy": augment["strategy"],
        "rate": augment["rate"],
        "seed": seed,
    }


def train_params(wildcards):
    """The rule's params: every resolved setting that shapes the model, so a changed value retrains
    the run (the recording settings travel in results/recording.json)."""
    run = run_settings(wildcards)
    return {
        "model": run["model_source"],
        "loss": run["loss"],
        "loss_args": json.dumps(run["loss_args"], sort_keys=True),
        "pooler": run["pooler"],
        "settings": json.dumps(shaping_settings(run["train"]), sort_keys=True),
    }


def checkpoint_dir(wildcards):
    """Resumable state, deliberately not a declared output (Snakemake deletes those before a job)."""
    return f"results/checkpoints/{wildcards.model}/{wildcards.variant}/seed~{wildcards.seed}"


def train_mem_mb(wildcards, attempt):
    """Host memory; more on a retry (e.g. a SLURM OOM kill, with --retries)."""
    return 16000 * attempt


def train_runtime(wildcards, attempt):
    """Minutes, generous: a paper-scale run is 1M sentences (~7.8k steps at batch 128)."""
    return 360 * attempt


def trained_model_dirs():
    return [
        f"results/{model}/{variant}/seed~{seed}/model"
        for (model, variant) in RUNS
        for seed in variant_seeds(variant)
    ]
