"""The unsupervised SimCSE training loop, on plain PyTorch + transformers (method.md §7).

One step: a batch of N sentences becomes 2N rows (both views, interleaved) encoded in **one
forward pass with dropout on**; the pooled vectors go through the training-only head and the two
views' head outputs ``z0``, ``z1`` into the loss (:func:`gradparadigm.losses.build_loss`).
AdamW (fused on CUDA) with a linear decay to 0 (warm-up ``warmup_ratio``, default none),
gradient clipping only when ``grad_clip`` is set, the embedding layer frozen by default. Every
``eval_steps`` (and at the last step) the encoder *without* the head is scored on STS-B **dev**
(cosine Spearman) and the best is kept; the saved model is that best checkpoint. Test sets are
never looked at.

How the details were settled (sources: ``BDBC-KG-NLP/UnderstandingCSE`` ``isotropy/models.py``,
``isotropy/utils.py``, ``train.py``, ``scripts/application/*``; ``princeton-nlp/SimCSE``
``simcse/models.py``, ``simcse/trainers.py``):

* Both codes run HF's ``Trainer``: AdamW (betas 0.9/0.999, eps 1e-8), ``weight_decay`` 0, linear
  schedule without warm-up, ``max_grad_norm`` 1.0 (HF's default: they *do* clip at 1.0). Here
  clipping is off unless ``grad_clip`` is set (the issue's default); the paper config sets 1.0.
  With weight decay > 0, biases and LayerNorm weights are exempt, as in HF's Trainer.
* Freezing: ``custom_param_init`` leaves ``requires_grad`` only on the transformer layers (and the
  unused BERT pooler): the embedding layer is frozen. Frozen tensors are not given to the optimiser.
* Head: see :mod:`gradparadigm.training.head` (official: BERT Linear, RoBERTa tanh+Linear, N(0, 6e-3)).
* Data: sentences truncated to 32 tokens, padded per batch to the longest row; a random order per
  epoch; HF's sampler keeps the last partial batch, and so do we, unless it has a single sentence
  (a loss needs in-batch negatives).
* Evaluation: ``--eval_steps 125`` (BERT) / 50 (RoBERTa), ``metric_for_best_model stsb_spearman``,
  ``load_best_model_at_end``, STS-B dev through SentEval with the [CLS] vector and no head. HF
  evaluates only at multiples of ``eval_steps``; we also evaluate the last step (one candidate more
  when the run length is not a multiple). The first best wins ties (HF uses ``np.greater``).

Determinism: Python, NumPy and torch are seeded with ``seed`` before the head is initialised; the
data order of epoch e comes from its own generator seeded by (seed, e); dropout draws from torch's
global generator. Evaluation (eval mode) and diagnostics draw nothing; the post-step re-score
(``dynamics``) replays the step's RNG state inside ``fork_rng`` and leaves the streams as they
were. On CPU the same seed gives bit-identical runs, and a resumed run (RNG states restored from
the checkpoint) is bit-identical to an uninterrupted one. CUDA kernels are not all deterministic, so GPU runs
agree only closely.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gradparadigm.encoder import SentenceEncoder, choose_device, load_pretrained, pool, resolve_model_source
from gradparadigm.errors import ConfigError, DataFormatError, TrainingDivergedError, TrainingInterrupted
from gradparadigm.evaluation.sts import stsb_dev_spearman
from gradparadigm.fileio import atomic_path, remove_stale_temporaries, write_json_atomic
from gradparadigm.losses import build_loss
from gradparadigm.provenance import environment_info
from gradparadigm.training.checkpoint import Checkpointer, Progress, append_record
from gradparadigm.training.diagnostics import batch_statistics, describe_inputs
from gradparadigm.training.dynamics import capture_rng, replayed_rng, step_dynamics
from gradparadigm.training.export import save_sentence_transformer
from gradparadigm.training.head import build_head, resolve_head
from gradparadigm.training.model_card import model_card
from gradparadigm.training.settings import TrainSettings, loss_args_key, shaping_settings, training_code_version
from gradparadigm.training.views import collate, load_views

log = logging.getLogger(__name__)

TIMING_KEYS = ("sec_per_step", "elapsed")  # the only fields of a log record that vary between equal runs


class ContrastiveModel(nn.Module):
    """Encoder + pooler + training-only head: ``forward(batch) -> (pooled, z)`` for all rows.

    ``length_buckets`` > 1 encodes the batch in that many groups of rows of similar length, each
    padded only to its own longest row, and puts the pooled rows back in their order. The encoder
    treats rows independently (attention never crosses rows), so this computes the same function
    with fewer padded tokens; only the dropout masks are drawn in another order, so a run with
    dropout is another (equally valid) random draw. See :func:`length_groups`.
    """

    def __init__(self, encoder: nn.Module, pooler: str, head: nn.Module, length_buckets: int = 1):
        super().__init__()
        self.encoder = encoder
        self.pooler = pooler
        self.head = head
        self.length_buckets = length_buckets

    def encode(self, batch: dict[str, Tensor]) -> Tensor:
        mask = batch["attention_mask"]
        if self.length_buckets <= 1 or mask.shape[0] < 2 * self.length_buckets:
            return pool(self.encoder(**batch).last_hidden_state, mask, self.pooler)
        pooled = []
        groups = length_groups(mask, self.length_buckets)
        for rows, width in groups:
            part = {key: value[rows, :width] for key, value in batch.items()}
            pooled.append(pool(self.encoder(**part).last_hidden_state, part["attention_mask"], self.pooler))
        order = torch.cat([rows for rows, _ in groups])
        out = torch.empty((mask.shape[0], pooled[0].shape[1]), dtype=pooled[0].dtype, device=pooled[0].device)
        return out.index_copy(0, order, torch.cat(pooled))

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        pooled = self.encode(batch)
        return pooled, self.head(pooled)


def length_groups(mask: Tensor, buckets: int) -> list[tuple[Tensor, int]]:
    """Split the rows of a right-padded batch into ``buckets`` groups of about equal size, by length:
    ``[(row indices, width of the group's longest row), ...]``. One host sync (the lengths)."""
    lengths = mask.sum(dim=1)
    order = torch.argsort(lengths, stable=True)
    widths = lengths[order].cpu()
    groups = []
    for chunk in torch.arange(len(order)).tensor_split(buckets):
        groups.append((order[chunk.to(order.device)], int(widths[chunk].max())))
    return groups


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def freeze_embeddings(encoder: nn.Module) -> int:
    """Freeze the embedding layer (word, position, type embeddings and their LayerNorm), as the
    official code does; returns the number of frozen tensors."""
    module = getattr(encoder, "embeddings", None)
    if module is None:
        module = encoder.get_input_embeddings()
        log.warning("%s has no .embeddings module: freezing only its input embeddings", type(encoder).__name__)
    params = list(module.parameters())
    for p in params:
        p.requires_grad_(False)
    return len(params)


def build_optimizer(model: nn.Module, settings: TrainSettings, device: torch.device) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=settings.lr, betas=(0.9, 0.999), eps=1e-8, fused=device.type == "cuda")


def linear_schedule(optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to ``lr`` over ``warmup_steps``, then linear decay to 0 at ``total_steps``
    (the formula of transformers' ``get_linear_schedule_with_warmup``)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The sentence order of one epoch: a permutation drawn from its own (seed, epoch) generator."""
    generator = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))
    return torch.randperm(n, generator=generator)


@dataclass(frozen=True)
class Schedule:
    n_sentences: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int

    @classmethod
    def plan(cls, n_sentences: int, settings: TrainSettings) -> "Schedule":
        full, rest = divmod(n_sentences, settings.batch_size)
        steps_per_epoch = full + (1 if rest >= 2 else 0)
        if steps_per_epoch == 0:
            raise ConfigError("train.batch_size", f"{n_sentences} sentence(s) are too few for one batch")
        total = settings.max_steps or settings.epochs * steps_per_epoch
        return cls(n_sentences, steps_per_epoch, total, math.ceil(settings.warmup_ratio * total))

    def batch_indices(self, step: int, seed: int, batch_size: int, cache: dict) -> Tensor:
        epoch, index = divmod(step, self.steps_per_epoch)
        if cache.get("epoch") != epoch:
            cache.update(epoch=epoch, order=epoch_order(self.n_sentences, seed, epoch))
        return cache["order"][index * batch_size : (index + 1) * batch_size]


@dataclass
class StepResult:
    loss: float
    grad_norm: float
    pooled: Tensor
    z0: Tensor
    z1: Tensor
    rng: dict[str, Any] | None = None  # the RNG states the forward pass drew dropout from (keep_rng)


def forward_views(model: ContrastiveModel, batch: dict[str, Tensor], *, bf16: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``(pooled, z0, z1)``: both views in one forward pass (bf16 autocast when asked), the head
    outputs split into view 0 (even rows) and view 1 (odd rows)."""
    device_type = next(model.parameters()).device.type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=bf16):
        pooled, z = model(batch)
    return pooled, z[0::2], z[1::2]


@torch.no_grad()
def rescore(
    model: ContrastiveModel, batch: dict[str, Tensor], rng: dict[str, Any], *, bf16: bool
) -> tuple[Tensor, Tensor]:
    """``(z0, z1)`` of ``batch`` under the current weights, with the dropout masks of the forward
    pass that ``rng`` was captured before; the RNG streams are left untouched."""
    with replayed_rng(rng):
        _, z0, z1 = forward_views(model, batch, bf16=bf16)
    return z0, z1


def training_step(
    model: ContrastiveModel,
    loss_fn: nn.Module,
    batch: dict[str, Tensor],
    optimizer,
    scheduler,
    *,
    bf16: bool,
    grad_clip: float | None,
    step: int = 0,
    loss_name: str = "",
    keep_rng: bool = False,
) -> StepResult:
    """Forward both views, loss, backward, (clip), optimiser and scheduler step.

    Raises :class:`TrainingDivergedError` *before* the optimiser step when the loss or the gradient
    norm is NaN/inf, so the weights stay those of the last good step. ``keep_rng``: return the RNG
    states from just before the forward pass, for :func:`rescore`.
    """
    rng = capture_rng(next(model.parameters()).device) if keep_rng else None
    pooled, z0, z1 = forward_views(model, batch, bf16=bf16)
    loss = loss_fn(z0, z1)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if grad_clip is not None:
        grad_norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
    else:
        grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params])
    values = torch.stack([loss.detach().float(), grad_norm.float()]).cpu()  # one device sync per step
    loss_value, norm_value = values.tolist()
    if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
        optimizer.zero_grad(set_to_none=True)
        what = (
            f"loss {loss_value}"
            if not math.isfinite(loss_value)
            else f"gradient norm {norm_value} (loss {loss_value:.6g})"
        )
        raise TrainingDivergedError(
            step, loss_name, what, describe_inputs(pooled, z0, z1), lr=optimizer.param_groups[0]["lr"]
        )
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(loss_value, norm_value, pooled.detach(), z0.detach(), z1.detach(), rng)


def _compat_key(record: dict[str, Any]) -> str:
    """What a checkpoint must match to be resumed: the run's settings except the recording ones
    (:data:`~gradparadigm.training.settings.RECORDING_SETTINGS`) and the training code version."""
    shaping = {**record, "train": shaping_settings(record["train"])}
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]
    return f"{digest}-{training_code_version(record['loss'])}"


def _round(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) and k in TIMING_KEYS else v) for k, v in record.items()}


def _load_sts_dev(sts_table: str | Path | pd.DataFrame) -> pd.DataFrame:
    from gradparadigm.data.tables import read_table

    table = sts_table if isinstance(sts_table, pd.DataFrame) else read_table(sts_table, ["task", "split"])
    dev = table[(table["task"] == "STSBenchmark") & (table["split"] == "dev")]
    if dev.empty:
        raise DataFormatError(
            str(sts_table) if not isinstance(sts_table, pd.DataFrame) else "<table>",
            "no STSBenchmark dev rows: model selection needs STS-B dev",
        )
    return dev


def train(
    *,
    model_source: str,
    views_dir: str | Path,
    sts_table: str | Path | pd.DataFrame,
    loss: str,
    loss_args: dict[str, Any] | None = None,
    pooler: str = "cls",
    settings: TrainSettings | None = None,
    seed: int = 0,
    model_out: str | Path,
    log_out: str | Path,
    hparams_out: str | Path,
    checkpoint_dir: str | Path,
    eval_batch_size: int = 128,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
    stop_requested: Callable[[], bool] | None = None,
    kill_after_steps: int | None = None,
) -> dict[str, Any]:
    """Train one encoder and write its outputs; returns the content of ``hparams_out``.

    Outputs (each written atomically, only after training finished): ``model_out`` (the best
    STS-B dev checkpoint, sentence-transformers layout), ``log_out`` (the JSONL log), ``hparams_out``
    (resolved settings, schedule, result, provenance). ``checkpoint_dir`` holds the resumable state
    and the live log while training runs; it is removed at the end, with the folders it leaves
    empty up to ``results/checkpoints``. Running the same call again after an interruption resumes
    from it; the temporaries a killed earlier run left next to the outputs are removed at the start.

    ``stop_requested``: polled after every step; when it returns True the run checkpoints and
    raises :class:`TrainingInterrupted` (the CLI wires it to SIGTERM, which SLURM sends before
    killing a job). ``kill_after_steps`` is a test hook: raise ``TrainingInterrupted`` after that
    step *without* checkpointing, as a killed process would.
    """
    settings = settings or TrainSettings()
    wall_start = time.perf_counter()
    try:
        loss_fn = build_loss(loss, **(loss_args or {}))
    except ValueError as exc:
        raise ConfigError(loss_args_key("loss_args", exc), str(exc)) from None
    device = choose_device(settings.device, where="train.device")
    remove_stale_temporaries(model_out, log_out, hparams_out)
    bf16 = settings.precision == "bf16" or (settings.precision == "auto" and device.type == "cuda")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif bf16:
        log.warning("bf16 autocast on CPU is far slower than fp32 on most CPUs")

    views, views_meta = load_views(views_dir)
    if views_meta["max_length"] != settings.max_length:
        raise ConfigError(
            "train.max_length",
            f"is {settings.max_length} but the views in {views_dir} were "
            f"tokenized with max length {views_meta['max_length']}",
        )
    if views_meta.get("tokenizer_source") != model_source:
        log.warning(
            "views in %s were tokenized for %s, training %s",
            views_dir,
            views_meta.get("tokenizer_source"),
            model_source,
        )
    n_sentences = min(len(views), settings.max_sentences or len(views))
    plan = Schedule.plan(n_sentences, settings)

    seed_everything(seed)
    path = resolve_model_source(model_source)
    tokenizer, encoder = load_pretrained(model_source, path, dtype=torch.float32)
    if len(tokenizer) != views_meta["vocab_size"]:
        raise DataFormatError(
            views_dir,
            f"views use a vocabulary of {views_meta['vocab_size']} tokens, the model's tokenizer has {len(tokenizer)}",
        )
    head_kind = resolve_head(settings.head, pooler, encoder.config.model_type)
    hidden = int(encoder.config.hidden_size)
    model = ContrastiveModel(
        encoder, pooler, build_head(head_kind, hidden, settings.head_init_std), settings.length_buckets
    )
    frozen = freeze_embeddings(encoder) if settings.freeze_embeddings else 0
    model.to(device).train()
    if settings.compile:
        # in place (nn.Module.compile): the state dict keeps its keys, so checkpoints, the best
        # weights and the export do not change; dynamic shapes, as every batch has its own width
        encoder.compile(dynamic=True)
    optimizer = build_optimizer(model, settings, device)
    scheduler = linear_schedule(optimizer, plan.warmup_steps, plan.total_steps)
    limit = min(int(getattr(encoder.config, "max_position_embeddings", 512) or 512), 512)
    evaluator = SentenceEncoder(
        model=encoder, tokenizer=tokenizer, pooler=pooler, device=device, max_length=limit, source=path
    )
    dev = _load_sts_dev(sts_table)

    run = {
        "model_source": model_source,
        "loss": loss,
        "loss_args": loss_fn.hparams,
        "pooler": pooler,
        "augment": views_meta["augment"],
        "train": settings.to_dict(),
        "seed": seed,
        "views": {k: views_meta.get(k) for k in ("key", "corpus_sha256", "n_sentences", "max_length")},
    }
    record: dict[str, Any] = {
        **(meta or {}),
        **run,
        "resolved": {
            "head": head_kind,
            "device": str(device),
            "precision": "bf16" if bf16 else "fp32",
            "frozen_tensors": frozen,
            "eval_max_length": limit,
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        },
        "schedule": {
            "n_sentences": plan.n_sentences,
            "steps_per_epoch": plan.steps_per_epoch,
            "total_steps": plan.total_steps,
            "warmup_steps": plan.warmup_steps,
        },
    }
    ckpt = Checkpointer(checkpoint_dir, _compat_key(run))
    state = ckpt.load(model, optimizer, scheduler, device) or Progress()
    log.info(
        "training %s (%s pooling, %s head) with %s on %s, %s: %d sentences, %d steps of %d (%d per epoch)",
        model_source,
        pooler,
        head_kind,
        loss,
        device,
        record["resolved"]["precision"],
        plan.n_sentences,
        plan.total_steps,
        settings.batch_size,
        plan.steps_per_epoch,
    )

    pad_id = views_meta["pad_token_id"] if views_meta["pad_token_id"] is not None else 0
    input_names = views_meta["model_input_names"]
    order_cache: dict[str, Any] = {}
    # On CUDA the batch is copied from page-locked memory without blocking the host, so the copy
    # overlaps the tail of the previous step's kernels (no effect on the CPU).
    pin = torch.device(device).type == "cuda"
    window = {"loss": 0.0, "steps": 0, "seconds": 0.0}
    last_saved = state.step
    bar = tqdm(
        total=plan.total_steps,
        initial=state.step,
        desc="train",
        unit="step",
        disable=not progress,
        mininterval=5,
        dynamic_ncols=True,
    )
    try:
        while state.step < plan.total_steps:
            index = plan.batch_indices(state.step, seed, settings.batch_size, order_cache)
            rows = views[index.tolist()]
            batch = {
                k: (v.pin_memory() if pin else v).to(device, non_blocking=True)
                for k, v in collate(rows["input_ids_0"], rows["input_ids_1"], pad_id, input_names).items()
            }
            logged = (state.step + 1) % settings.log_steps == 0 or state.step + 1 == plan.total_steps
            started = time.perf_counter()
            result = training_step(
                model,
                loss_fn,
                batch,
                optimizer,
                scheduler,
                bf16=bf16,
                grad_clip=settings.grad_clip,
                step=state.step + 1,
                loss_name=loss,
                keep_rng=logged and settings.dynamics,
            )
            seconds = time.perf_counter() - started
            state.step += 1
            state.train_seconds += seconds
            window["loss"] += result.loss
            window["steps"] += 1
            window["seconds"] += seconds
            bar.update(1)
            epoch = round(state.step / plan.steps_per_epoch, 4)

            if logged:
                stats = batch_statistics(result.z0, result.z1, loss_fn)
                if settings.dynamics:
                    stats.update(step_dynamics(result.z0, result.z1, *rescore(model, batch, result.rng, bf16=bf16)))
                entry = {
                    "type": "train",
                    "step": state.step,
                    "epoch": epoch,
                    "loss": result.loss,
                    "loss_mean": window["loss"] / window["steps"],
                    "lr": scheduler.get_last_lr()[0],
                    "grad_norm": result.grad_norm,
                    **stats,
                    "sec_per_step": window["seconds"] / window["steps"],
                }
                append_record(ckpt.live_log, _round(entry))
                bar.set_postfix(
                    loss=f"{result.loss:.4f}",
                    pos=f"{stats['pos_cos']:.3f}",
                    hard=f"{stats['neg_cos_hardest']:.3f}",
                    gd=f"{stats['gd_active_frac']:.2f}",
                    dev=f"{state.best_score:.2f}" if state.best_score is not None else "-",
                    refresh=False,
                )
                window = {"loss": 0.0, "steps": 0, "seconds": 0.0}

            if state.step % settings.eval_steps == 0 or state.step == plan.total_steps:
                eval_start = time.perf_counter()
                score = stsb_dev_spearman(
                    dev, lambda s: evaluator.encode(s, batch_size=eval_batch_size, progress=False)
                )
                improved = math.isfinite(score) and (state.best_score is None or score > state.best_score)
                if improved:
                    state.best_score, state.best_step = score, state.step
                    state.best_weights = {
                        k: v.detach().to("cpu", copy=True).contiguous() for k, v in encoder.state_dict().items()
                    }
                entry = {
                    "type": "eval",
                    "step": state.step,
                    "epoch": epoch,
                    "stsb_dev_spearman": score if math.isfinite(score) else None,
                    "best": improved,
                    "best_stsb_dev_spearman": state.best_score,
                    "best_step": state.best_step,
                    "elapsed": time.perf_counter() - eval_start,
                }
                append_record(ckpt.live_log, _round(entry))
                log.info(
                    "step %d: STS-B dev Spearman %.2f%s (best %s at step %s)",
                    state.step,
                    score,
                    " (new best)" if improved else "",
                    "-" if state.best_score is None else f"{state.best_score:.2f}",
                    state.best_step,
                )

            stop = stop_requested is not None and stop_requested()
            if state.step % settings.checkpoint_steps == 0 or state.step == plan.total_steps or stop:
                ckpt.save(state, model, optimizer, scheduler)
                last_saved = state.step
            if stop:
                raise TrainingInterrupted(state.step, ckpt.dir)
            if kill_after_steps is not None and state.step >= kill_after_steps:
                raise TrainingInterrupted(last_saved, ckpt.dir)
    except TrainingDivergedError as exc:
        exc.add_note_checkpoint(last_saved if last_saved else None, ckpt.dir)
        raise
    finally:
        bar.close()

    if state.best_weights is None:
        raise TrainingDivergedError(
            state.step,
            loss,
            "no finite STS-B dev score at any evaluation",
            "the encoder's embeddings are degenerate",
            lr=scheduler.get_last_lr()[0],
        )
    encoder.load_state_dict(state.best_weights)
    best = {"best_step": state.best_step, "best_stsb_dev_spearman": state.best_score, "steps": state.step}
    save_sentence_transformer(
        encoder, tokenizer, pooler, model_out, max_seq_length=limit, card=model_card(record, best)
    )
    with atomic_path(log_out) as tmp:
        tmp.write_bytes(ckpt.live_log.read_bytes())
    record["result"] = {
        **best,
        "train_seconds": round(state.train_seconds, 2),
        "seconds_per_step": round(state.train_seconds / max(1, state.step), 4),
        "wall_seconds_this_process": round(time.perf_counter() - wall_start, 2),
        "resumed_from_steps": state.resumed_from,
    }
    record["provenance"] = environment_info(device)
    write_json_atomic(hparams_out, record)
    ckpt.finish()
    log.info(
        "done: best STS-B dev Spearman %.2f at step %d; %.2f s/step",
        state.best_score,
        state.best_step,
        record["result"]["seconds_per_step"],
    )
    return record
