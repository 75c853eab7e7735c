"""Micro-benchmark: seconds per training step and sentences per second, CPU or GPU.

    PYTHONPATH=src python bench/train_step.py --random-shape minilm-l6 --batch 64 --device cpu
    PYTHONPATH=src python bench/train_step.py --random-shape bert-base --batch 128 --device cuda  # bf16 autocast
    PYTHONPATH=src python bench/train_step.py --model packaged:all-MiniLM-L6-v2 --batch 64
    PYTHONPATH=src python bench/train_step.py --random-shape minilm-l6 --batch 64 --dynamics  # + re-score

Times exactly what the trainer runs per step (:func:`gradparadigm.training.trainer.training_step`:
both views in one forward pass with dropout, the head, the loss, backward, AdamW, scheduler), on
random token ids of a fixed ``--length`` (every row padded to the limit: the worst case of a
max-length-32 run). ``--random-shape`` builds a randomly initialised BERT of that shape, so no
download is needed. Precision follows the trainer: ``auto`` = bf16 autocast + TF32 on CUDA, fp32 on
CPU. Reports the median (and inter-quartile range) over ``--steps`` timed steps after ``--warmup``
steps, as a Markdown table.

Also reports the model FLOPs of a step (6 × the transformer's matmul parameters × tokens, plus
attention scores: forward 2, backward 4 FLOPs per multiply-add) and the achieved FLOP/s; with
``--peak-tflops`` (or a known GPU: H100, H200, A100) the MFU; with ``--project-sentences`` the
hours of one run of that many sentences (one epoch, the paper's 1M); with ``--grid-config`` the
hours of every trained run of that study config at this speed. ``--compile`` wraps the encoder in
``torch.compile`` (compilation is excluded from the timing: it happens in the warm-up steps).
``--json PATH`` writes every figure as JSON. The GPU check (``bench/gpu_check.sh``) runs this on
a BERT-base-shaped encoder at batch 128, length 32, eager and compiled.

``--dynamics`` also times what a logged step adds when ``train.dynamics``
is on (:func:`~gradparadigm.training.trainer.rescore` of the batch with the step's dropout masks and
:func:`~gradparadigm.training.dynamics.step_dynamics`), separately from the step.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time

import torch

from gradparadigm.encoder import choose_device, resolve_model_source
from gradparadigm.losses import LOSS_NAMES, build_loss
from gradparadigm.training.dynamics import step_dynamics
from gradparadigm.training.head import build_head, resolve_head
from gradparadigm.training.settings import TrainSettings
from gradparadigm.training.trainer import (
    ContrastiveModel,
    build_optimizer,
    freeze_embeddings,
    linear_schedule,
    rescore,
    training_step,
)

SHAPES = {  # BertConfig kwargs; vocabulary of bert-base-uncased
    "bert-base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    "minilm-l6": {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536},
    # the tests' tiny model
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
}


def load_encoder(args):
    from transformers import AutoModel, BertConfig, BertModel

    if args.random_shape:
        torch.manual_seed(0)
        return BertModel(BertConfig(vocab_size=30522, **SHAPES[args.random_shape])), f"random {args.random_shape}"
    return AutoModel.from_pretrained(resolve_model_source(args.model), dtype=torch.float32), args.model


# dense bf16 tensor-core peaks (TFLOP/s) of the GPUs this is likely to meet (vendor data sheets, SXM)
PEAK_BF16_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0, "L40S": 362.05, "A10": 125.0}


def step_flops(config, rows: int, length: int) -> float:
    """Training FLOPs of one step of a BERT-style encoder on ``rows`` sequences of ``length`` tokens."""
    d, layers, ffn = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    matmul_params = layers * (4 * d * d + 2 * d * ffn)  # Q, K, V, output projection; the two FFN layers
    tokens = rows * length
    attention = layers * 2 * 2 * rows * length * length * d  # QK^T and AV: 2 FLOPs per multiply-add
    return 3 * (2 * matmul_params * tokens + attention)  # backward = 2 x forward


def peak_tflops(device: torch.device, given: float | None) -> float | None:
    if given:
        return given
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops for key, tflops in PEAK_BF16_TFLOPS.items() if key in name), None)


def grid_runs(path: str) -> list[dict]:
    """Every trained run (model, variant, seed) of a study config, with its resolved settings."""
    import yaml

    from gradparadigm.config import validate_config
    from gradparadigm.training.settings import resolve_run_settings

    config = validate_config(yaml.safe_load(open(path, encoding="utf-8")))
    runs = []
    for model in config["models"]:
        for variant in config["variants"]:
            run = resolve_run_settings(config, model, variant)
            if run is not None:
                runs += [{"model": model, "variant": variant, "seed": seed, **run} for seed in config["seeds"]]
    return runs


def projections(args, seconds_per_step: float) -> dict:
    out = {}
    if args.project_sentences:
        steps = args.project_sentences / args.batch
        out["one_run"] = {
            "sentences": args.project_sentences,
            "steps": round(steps),
            "hours": steps * seconds_per_step / 3600,
        }
    if args.grid_config:
        runs = grid_runs(args.grid_config)
        sentences = args.project_sentences or 1_000_000
        # time per sentence measured at this batch and length; runs at another batch size are scaled
        # by their sentence count (a first-order estimate: larger batches run somewhat faster per row)
        hours = len(runs) * sentences / args.batch * seconds_per_step / 3600
        out["grid"] = {
            "config": args.grid_config,
            "trained_runs": len(runs),
            "sentences_per_run": sentences,
            "hours": hours,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="packaged:NAME, a local folder or a hub id")
    source.add_argument("--random-shape", choices=sorted(SHAPES), help="a random BERT of this shape")
    parser.add_argument("--batch", type=int, default=64, help="sentences per step (2x rows)")
    parser.add_argument("--length", type=int, default=32, help="tokens per row")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--dtype",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="auto: bf16 autocast on CUDA, fp32 on CPU (as the trainer)",
    )
    parser.add_argument("--loss", choices=LOSS_NAMES, default="infonce")
    parser.add_argument("--head", default="auto")
    parser.add_argument("--no-freeze", action="store_true", help="train the embedding layer too")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoder")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak, for the MFU")
    parser.add_argument("--project-sentences", type=int, default=None, help="hours of one run of N sentences")
    parser.add_argument("--grid-config", default=None, help="hours of every trained run of this study config")
    parser.add_argument("--json", default=None, help="write the figures here as JSON")
    parser.add_argument("--dynamics", action="store_true", help="also time the post-step re-score of a logged step")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = choose_device(args.device)
    bf16 = args.dtype == "bf16" or (args.dtype == "auto" and device.type == "cuda")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    encoder, label = load_encoder(args)
    settings = TrainSettings(
        batch_size=args.batch, max_length=args.length, head=args.head, freeze_embeddings=not args.no_freeze
    )
    head = resolve_head(settings.head, "cls", encoder.config.model_type)
    config = encoder.config
    if settings.freeze_embeddings:
        freeze_embeddings(encoder)
    if args.compile:
        encoder = torch.compile(encoder)
    model = ContrastiveModel(encoder, "cls", build_head(head, config.hidden_size, settings.head_init_std))
    model.to(device).train()
    optimizer = build_optimizer(model, settings, device)
    total = args.warmup + args.steps
    scheduler = linear_schedule(optimizer, 0, total + 1)
    loss_fn = build_loss(args.loss)

    generator = torch.Generator().manual_seed(0)
    rows = 2 * args.batch
    batch = {
        "input_ids": torch.randint(1000, config.vocab_size, (rows, args.length), generator=generator),
        "attention_mask": torch.ones(rows, args.length, dtype=torch.long),
    }
    batch["input_ids"][:, 0] = 101  # [CLS]
    batch["input_ids"][:, -1] = 102  # [SEP]
    if config.model_type == "bert":
        batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
    batch = {k: v.to(device) for k, v in batch.items()}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    seconds, extra = [], []
    for i in range(total):
        synchronize()
        start = time.perf_counter()
        result = training_step(
            model,
            loss_fn,
            batch,
            optimizer,
            scheduler,
            bf16=bf16,
            grad_clip=None,
            step=i + 1,
            loss_name=args.loss,
            keep_rng=args.dynamics,
        )  # ends with a host sync
        synchronize()
        stepped = time.perf_counter()
        if args.dynamics:
            step_dynamics(result.z0, result.z1, *rescore(model, batch, result.rng, bf16=bf16))  # .item(): a sync
        if i >= args.warmup:
            seconds.append(stepped - start)
            extra.append(time.perf_counter() - stepped)

    median = statistics.median(seconds)
    q1, _, q3 = statistics.quantiles(seconds, n=4) if len(seconds) > 1 else (median, median, median)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        where = f"{torch.cuda.get_device_name(device)}, peak {peak:.1f} GiB allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        cpu = platform.processor() or platform.machine()
        where = f"{cpu}, {torch.get_num_threads()} threads, peak RSS {peak:.1f} GiB"
    print(
        f"Training step: {label}, {args.loss}, {head} head, {'bf16 autocast' if bf16 else 'fp32'} on {device} "
        f"({where}); median of {len(seconds)} steps after {args.warmup} warm-up.\n"
    )
    flops = step_flops(config, rows, args.length)
    peak = peak_tflops(device, args.peak_tflops)
    achieved = flops / median / 1e12
    mfu = achieved / peak if peak else None
    dynamics = statistics.median(extra) if args.dynamics else None
    columns = " dynamics s/logged step |" if args.dynamics else ""
    print(
        "| model | batch (rows) | length | s/step (IQR) | steps/s | sentences/s | TFLOP/step | TFLOP/s | MFU |"
        + columns
    )
    print("|---|---|---|---|---|---|---|---|---|" + ("---|" if args.dynamics else ""))
    cell = f" {dynamics:.4f} ({dynamics / median:.0%} of a step) |" if args.dynamics else ""
    print(
        f"| {label}{' (compiled)' if args.compile else ''} | {args.batch} ({rows}) | {args.length} | "
        f"{median:.4f} ({q3 - q1:.4f}) | {1 / median:.2f} | {args.batch / median:.1f} | {flops / 1e12:.3f} | "
        f"{achieved:.2f} | {f'{mfu:.1%}' if mfu is not None else '–'} |" + cell
    )
    projected = projections(args, median)
    for key, value in projected.items():
        print(f"\nprojection ({key}): {json.dumps(value)}")
    if args.json:
        record = {
            "model": label,
            "compiled": args.compile,
            "device": str(device),
            "where": where,
            "bf16": bf16,
            "loss": args.loss,
            "batch": args.batch,
            "length": args.length,
            "seconds_per_step": median,
            "iqr": q3 - q1,
            "steps_per_second": 1 / median,
            "sentences_per_second": args.batch / median,
            "flops_per_step": flops,
            "tflops_achieved": achieved,
            "peak_tflops": peak,
            "mfu": mfu,
            "dynamics_seconds_per_logged_step": dynamics,
            "projections": projected,
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)


if __name__ == "__main__":
    main()
