"""Training settings: their defaults, validation, and how a study config resolves to one run.

A run is one (model, variant, seed). Its settings come from four layers, later ones winning::

    TRAIN_DEFAULTS  <  config train:  <  models.<m>.train  <  variants.<v>.train  <  variants.<v>.per_model.<m>.train

and the loss hyperparameters from ``variants.<v>.loss_args`` < ``variants.<v>.per_model.<m>.loss_args``
(merged key by key, as a variant's base, see :func:`gradparadigm.config.deep_merge`), completed by
:func:`gradparadigm.losses.resolve_hparams`. :func:`resolve_run_settings` does this
for the Snakemake workflow at parse time (so an unknown loss or hyperparameter fails before any job
starts, naming the config key) and returns a JSON-ready dict: the rule's ``params:`` (a changed
value retrains) and the trainer's input.

The training settings' defaults, types and ranges are the schema's (``gradparadigm/schemas/
config.schema.yaml``: ``properties.train`` and ``$defs/train_settings``): :class:`TrainSettings`
reads its defaults from there and validates itself with it, so ``gradparadigm train`` behaves the
same with or without Snakemake and a setting is described in one place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from gradparadigm.config import deep_merge, load_schema, schema_defaults, validate_section
from gradparadigm.errors import ConfigError

HEADS = tuple(load_schema()["$defs"]["train_settings"]["properties"]["head"]["enum"])
AUGMENTATIONS = tuple(load_schema()["$defs"]["augment_settings"]["properties"]["strategy"]["enum"])
POOLERS = ("cls", "mean")  # same as gradparadigm.encoder.POOLERS (kept import-light here)

# every training setting's default, from the schema (properties.train), and the augmentation's
_DEFAULTS = schema_defaults("train")
_AUGMENT_DEFAULTS = schema_defaults("$defs/augment_settings")

# Settings that record a run without shaping it: how often it logs and checkpoints and whether it
# re-scores logged steps (tested: the weights and the scores do not change with them). The workflow
# keeps them out of the train rule's params, so changing one does not retrain, and the checkpoint
# compatibility key leaves them out, so a run resumes across a change.
RECORDING_SETTINGS = ("log_steps", "checkpoint_steps", "dynamics")


def shaping_settings(train: dict) -> dict:
    """``train`` without the :data:`RECORDING_SETTINGS`: what a trained model depends on."""
    return {k: v for k, v in train.items() if k not in RECORDING_SETTINGS}


# Bump when the tokenisation/augmentation code changes what a views folder contains: the views
# key changes with it, so stale caches are never reused.
VIEWS_FORMAT = 1

# The code that shapes a trained model: its digest is the train rule's code version (a rerun
# trigger) and part of a checkpoint's compatibility key. It is the trainer's own code, the encoder,
# the STS-B dev scoring, the gradient measurement the trainer logs (losses/paradigm.py and what it
# imports) and the run's own loss: its module and the modules it imports (the registry, which
# imports every loss, is left out). So a comment in losses/mhe.py retrains the MHE runs and not the
# InfoNCE ones; edits elsewhere (CLI, tables, transfer evaluation) retrain nothing.
TRAINING_CODE = ("training", "encoder.py", "evaluation/sts.py", "data/sts.py")
LOSS_STOP = ("registry.py", "__init__.py")


def loss_code_files(loss: str | None) -> set:
    """The library files a run with ``loss`` depends on (every loss module when ``loss`` is None)."""
    import inspect

    from gradparadigm.losses.registry import LOSS_NAMES, loss_class
    from gradparadigm.provenance import PACKAGE_ROOT, local_imports

    names = LOSS_NAMES if loss is None else (loss,)
    classes = [cls for name in names for cls in loss_class(name).__mro__]
    modules = {Path(inspect.getfile(cls)) for cls in classes if cls.__module__.startswith("gradparadigm.losses.")}
    outside = {
        Path(inspect.getfile(cls)).resolve()
        for cls in classes  # a loss from outside the package
        if cls.__module__.split(".")[0] not in ("gradparadigm", "torch", "builtins")
    }
    return local_imports([*modules, PACKAGE_ROOT / "losses" / "paradigm.py"], stop=LOSS_STOP) | outside


def training_code_version(loss: str | None = None) -> str:
    """Digest of the code that shapes a run trained with ``loss`` (None: with any loss)."""
    from gradparadigm.provenance import digest_files, package_files

    return digest_files(package_files(TRAINING_CODE) | loss_code_files(loss))


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of the training loop (method.md §7 and the official code's defaults).

    * ``lr`` 3e-5, ``batch_size`` 64: SimCSE's unsupervised BERT settings (method.md §6 lists the
      per-loss ones; configs set them per variant).
    * ``max_length`` 32: tokens per training sentence (truncation), as SimCSE and the official code.
    * ``epochs`` 1, ``max_steps`` None (= the epochs); when set, ``max_steps`` wins, as in HF's Trainer.
    * ``eval_steps``: STS-B dev every so many steps (and at the last step); the best is kept.
    * ``log_steps``: diagnostics every so many steps. ``checkpoint_steps``: resumable checkpoint.
    * ``dynamics`` True: at every logged step, re-score the step's batch after the optimiser step
      (same dropout masks) and log how the similarities moved (:mod:`gradparadigm.training.dynamics`).
    * ``head``: the training-only MLP (see :mod:`gradparadigm.training.head`); ``auto`` = the
      official code's choice for the backbone and pooler.
    * ``head_init_std`` 0.006: the official code's N(0, 6e-3) for the head's weight and bias.
    * ``freeze_embeddings`` True: the official code trains only the transformer layers.
    * ``length_buckets`` 1: encode the batch in this many length groups, each padded to its own
      longest row (a CPU fast path: fewer padded tokens, see ``ContrastiveModel``).
    * ``compile`` False: ``torch.compile`` the encoder (dynamic shapes), for long GPU runs.
    * ``grad_clip`` None: no clipping (the issue's default). Note: SimCSE and the official code run
      on HF's Trainer, whose ``max_grad_norm`` default is 1.0, so they clip at 1.0; the paper study
      config sets ``grad_clip: 1.0`` for that reason.
    * ``weight_decay`` 0 and ``warmup_ratio`` 0: HF TrainingArguments' defaults, used by both codes.
    * ``max_sentences`` None: the whole corpus (else its first N sentences).
    * ``device`` auto (CUDA when present), ``precision`` auto (bf16 autocast on CUDA, fp32 on CPU).
    """

    lr: float = _DEFAULTS["lr"]
    batch_size: int = _DEFAULTS["batch_size"]
    max_length: int = _DEFAULTS["max_length"]
    epochs: int = _DEFAULTS["epochs"]
    max_steps: int | None = _DEFAULTS["max_steps"]
    eval_steps: int = _DEFAULTS["eval_steps"]
    log_steps: int = _DEFAULTS["log_steps"]
    checkpoint_steps: int = _DEFAULTS["checkpoint_steps"]
    dynamics: bool = _DEFAULTS["dynamics"]
    head: str = _DEFAULTS["head"]
    head_init_std: float = _DEFAULTS["head_init_std"]
    freeze_embeddings: bool = _DEFAULTS["freeze_embeddings"]
    length_buckets: int = _DEFAULTS["length_buckets"]
    compile: bool = _DEFAULTS["compile"]
    grad_clip: float | None = _DEFAULTS["grad_clip"]
    weight_decay: float = _DEFAULTS["weight_decay"]
    warmup_ratio: float = _DEFAULTS["warmup_ratio"]
    max_sentences: int | None = _DEFAULTS["max_sentences"]
    device: str = _DEFAULTS["device"]
    precision: str = _DEFAULTS["precision"]

    def __post_init__(self) -> None:
        validate_section(dataclasses.asdict(self), "train_settings", "train")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str = "train") -> "TrainSettings":
        validate_section({**TRAIN_DEFAULTS, **values}, "train_settings", where)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TRAIN_DEFAULTS: dict[str, Any] = TrainSettings().to_dict()


@dataclass(frozen=True)
class AugmentSettings:
    """How the two views of a sentence differ before dropout (dropout itself always applies).

    ``dropout``: identical text (unsupervised SimCSE, the paper's). ``word_deletion``: each
    whitespace word of each view is deleted with probability ``rate`` (at least one is kept; CLEAR
    / ESimCSE-style discrete augmentation). ``token_shuffle``: a share ``rate`` of each view's
    non-special token positions is permuted among themselves (``rate`` 1 = ConSERT's full shuffle).
    Both views are augmented, independently.
    """

    strategy: str = _AUGMENT_DEFAULTS["strategy"]
    rate: float = _AUGMENT_DEFAULTS["rate"]

    def __post_init__(self) -> None:
        validate_section(dataclasses.asdict(self), "augment_settings", "augment")

    @property
    def seeded(self) -> bool:
        """Whether the views depend on the seed (dropout views are the same for every seed)."""
        return self.strategy != "dropout"


def views_key(model_source: str, max_length: int, augment: AugmentSettings | Mapping[str, Any], seed: int) -> str:
    """The folder name of a views cache: readable settings + a hash of everything that shapes it.

    Keyed by the tokenizer (the model source), the max length, the augmentation and, unless it is
    ``dropout`` (whose views are identical text), the seed: every loss variant of a model, and for
    dropout every seed, shares one cache.
    """
    if not isinstance(augment, AugmentSettings):
        augment = AugmentSettings(**augment)
    parts = {
        "format": VIEWS_FORMAT,
        "tokenizer": model_source,
        "max_length": int(max_length),
        "strategy": augment.strategy,
        "rate": float(augment.rate),
        "seed": int(seed) if augment.seeded else None,
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:10]
    readable = [augment.strategy]
    if augment.seeded:
        readable.append(f"r{augment.rate:g}")
    readable.append(f"len{max_length}")
    if augment.seeded:
        readable.append(f"seed{seed}")
    return "-".join(readable) + "-" + digest


def loss_args_key(where: str, exc: ValueError) -> str:
    """The config key of a bad loss argument: ``where`` plus the part's path when the loss names it
    (``variants.v.loss_args`` + ``gd.kind`` for the paradigm loss's parts)."""
    key = getattr(exc, "key", None)
    return f"{where}.{key}" if key else where


def resolve_run_settings(config: Mapping[str, Any], model: str, variant: str) -> dict[str, Any] | None:
    """The complete settings of training ``variant`` on ``model`` (None for ``loss: none``).

    ``config`` is the validated study config (schema defaults filled in). Raises
    :class:`~gradparadigm.errors.ConfigError` naming the offending key. The result (JSON-ready,
    sorted keys) has ``model_source``, ``loss``, ``loss_args`` (complete, via ``resolve_hparams``),
    ``pooler``, ``augment`` and ``train`` (every :class:`TrainSettings` field).
    """
    from gradparadigm.losses import resolve_hparams
    from gradparadigm.losses.registry import loss_class

    spec = config["variants"][variant]
    loss = spec.get("loss", "none")
    where = f"variants.{variant}"
    if loss == "none":
        for key in ("loss_args", "train", "per_model"):
            if spec.get(key):
                raise ConfigError(f"{where}.{key}", "has no effect on an untrained variant (loss: none)")
        return None
    per_model = spec.get("per_model") or {}
    for name in per_model:
        if name not in config["models"]:
            raise ConfigError(f"{where}.per_model.{name}", f"no such model; models: {', '.join(config['models'])}")
    override = per_model.get(model) or {}
    try:
        loss_class(loss)
    except ValueError as exc:
        raise ConfigError(f"{where}.loss", str(exc)) from None

    args = dict(spec.get("loss_args") or {})
    try:
        resolve_hparams(loss, **args)
    except ValueError as exc:
        raise ConfigError(loss_args_key(f"{where}.loss_args", exc), str(exc)) from None
    args = deep_merge(args, override.get("loss_args") or {})  # a paradigm part's kind may be inherited
    try:
        loss_args = resolve_hparams(loss, **args)
    except ValueError as exc:
        raise ConfigError(loss_args_key(f"{where}.per_model.{model}.loss_args", exc), str(exc)) from None

    layers = [
        ("train", config.get("train") or {}),
        (f"models.{model}.train", config["models"][model].get("train") or {}),
        (f"{where}.train", spec.get("train") or {}),
        (f"{where}.per_model.{model}.train", override.get("train") or {}),
    ]
    merged: dict[str, Any] = dict(TRAIN_DEFAULTS)
    for key, layer in layers:
        TrainSettings.from_dict({**TRAIN_DEFAULTS, **layer}, where=key)  # name the layer at fault
        merged.update(layer)
    train = TrainSettings.from_dict(merged, where=f"{where}.train")

    augment_spec = {**_AUGMENT_DEFAULTS, **(spec.get("augment") or {})}
    validate_section(augment_spec, "augment_settings", f"{where}.augment")
    augment = AugmentSettings(**augment_spec)

    return {
        "model_source": config["models"][model]["source"],
        "loss": loss,
        "loss_args": loss_args,
        "pooler": spec.get("pooler", "cls"),
        "augment": dataclasses.asdict(augment),
        "train": train.to_dict(),
    }
