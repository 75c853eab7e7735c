"""Side by side: a plain SimCSE loop against this project's code path, in one process, alternating.

    PYTHONPATH=src python bench/side_by_side.py --model packaged:all-MiniLM-L6-v2 \\
        --senteval ../shared/data/downstream --corpus ../shared/data/wiki/wiki1m_for_simcse.head11914.txt \\
        --json results/bench/side_by_side.json --markdown results/bench/side_by_side.md

Three comparisons, each on the same model weights and the same sentences, the two paths timed in
turn (plain, ours, plain, ours, ...) so that a change in the machine's load hits both alike:

- **train step**: the plain loop tokenises each batch, pads every row to ``--length``, runs both
  dropout views in one forward pass, takes [CLS], InfoNCE, backward and a default AdamW step. Ours
  is :func:`gradparadigm.training.trainer.training_step` on views tokenised once (as the ``augment``
  rule stores them), padded to the batch's longest row, with the trainer's optimiser. Both freeze
  the embedding layer (the trainer's default) and start from the same weights; ``--fast`` options
  switch on one candidate of the CPU fast path each (``--attention``, ``--compile``,
  ``--fused-adamw``).
- **STS encoding**: every sentence of the STS tasks (STS12-16, STS-B, SICK-R) in file order,
  batches of ``--eval-batch``, each batch tokenised and padded to its longest row, [CLS]; against
  :meth:`gradparadigm.encoder.SentenceEncoder.encode` (duplicates once, length-sorted batches).
- **transfer encoding**: the same on ``--transfer-sentences`` sentences drawn (seeded) from the seven
  transfer tasks' rows, duplicates kept as a task feeds them.

The output gives the median seconds of each path, the ratio plain/ours (above 1: ours is faster), the
model FLOPs (counted on the real, unpadded tokens: 6 × matmul parameters × tokens plus attention for
a training step, 2 × for a forward pass) and the FLOP/s each path achieves on them, and for the
encodings the largest difference between the two paths' vectors. JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gradparadigm.encoder import SentenceEncoder, load_pretrained, resolve_model_source
from gradparadigm.losses import build_loss
from gradparadigm.training.head import build_head, resolve_head
from gradparadigm.training.settings import TrainSettings
from gradparadigm.training.trainer import (
    ContrastiveModel,
    build_optimizer,
    freeze_embeddings,
    linear_schedule,
    training_step,
)
from gradparadigm.training.views import collate


def matmul_params(config) -> int:
    d, layers, ffn = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    return layers * (4 * d * d + 2 * d * ffn)


def forward_flops(config, lengths: list[int]) -> float:
    """Forward FLOPs on rows of these real lengths (no padding): projections, FFN and attention."""
    d, layers = config.hidden_size, config.num_hidden_layers
    tokens = sum(lengths)
    attention = layers * 2 * 2 * sum(n * n for n in lengths) * d
    return 2 * matmul_params(config) * tokens + attention


def read_lines(path: str, limit: int) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return lines[:limit]


def median_iqr(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    q1, _, q3 = statistics.quantiles(values, n=4)
    return statistics.median(values), q3 - q1


# ---------------------------------------------------------------------------------------------------
# training step
# ---------------------------------------------------------------------------------------------------


class PlainLoop:
    """The simplest SimCSE step: tokenise the batch, pad to max length, [CLS], InfoNCE, AdamW."""

    def __init__(self, encoder, tokenizer, length: int, lr: float, tau: float = 0.05):
        self.encoder, self.tokenizer, self.length, self.tau = encoder, tokenizer, length, tau
        params = [p for p in encoder.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)

    def step(self, sentences: list[str]) -> float:
        doubled = [s for s in sentences for _ in range(2)]
        batch = self.tokenizer(
            doubled, padding="max_length", truncation=True, max_length=self.length, return_tensors="pt"
        )
        cls = self.encoder(**batch).last_hidden_state[:, 0]
        z0, z1 = cls[0::2], cls[1::2]
        logits = F.cosine_similarity(z0.unsqueeze(1), z1.unsqueeze(0), dim=-1) / self.tau
        loss = F.cross_entropy(logits, torch.arange(len(sentences)))
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()


class OurStep:
    """The trainer's step on pre-tokenised rows (what the ``augment`` rule stores), with its optimiser."""

    def __init__(self, encoder, tokenizer, length: int, lr: float, args):
        settings = TrainSettings(batch_size=args.batch, max_length=length, lr=lr)
        freeze_embeddings(encoder)
        if args.compile:
            encoder = torch.compile(encoder)
        head = resolve_head(settings.head, "cls", encoder.config.model_type)
        self.model = ContrastiveModel(
            encoder, "cls", build_head(head, encoder.config.hidden_size, settings.head_init_std), args.length_buckets
        )
        self.model.train()
        self.optimizer = build_optimizer(self.model, settings, torch.device("cpu"))
        if args.fused_adamw:
            for group in self.optimizer.param_groups:
                group["fused"] = True
                group["foreach"] = False
        self.scheduler = linear_schedule(self.optimizer, 0, 10**6)
        self.loss_fn = build_loss("infonce")
        self.tokenizer, self.length = tokenizer, length
        self.pad_id = tokenizer.pad_token_id or 0
        self.input_names = tokenizer.model_input_names

    def tokenise(self, sentences: list[str]) -> list[list[int]]:
        return self.tokenizer(sentences, truncation=True, max_length=self.length)["input_ids"]

    def step(self, rows: list[list[int]]) -> float:
        batch = collate(rows, rows, self.pad_id, self.input_names)
        result = training_step(
            self.model, self.loss_fn, batch, self.optimizer, self.scheduler, bf16=False, grad_clip=None
        )
        return result.loss


def bench_train(encoder, tokenizer, corpus: list[str], args) -> dict:
    plain_encoder = copy.deepcopy(encoder)
    freeze_embeddings(plain_encoder)
    plain_encoder.train()
    plain = PlainLoop(plain_encoder, tokenizer, args.length, args.lr)
    ours = OurStep(copy.deepcopy(encoder), tokenizer, args.length, args.lr, args)
    tokenised = ours.tokenise(corpus)  # once, as the augment rule does
    times = {"plain": [], "ours": []}
    cpu = {"plain": [], "ours": []}
    losses = {"plain": [], "ours": []}
    lengths = []
    total = args.warmup + args.steps
    for i in range(total):
        start = (i * args.batch) % max(1, len(corpus) - args.batch)
        sentences = corpus[start : start + args.batch]
        rows = tokenised[start : start + args.batch]
        for name in ("plain", "ours") if i % 2 == 0 else ("ours", "plain"):
            began, began_cpu = time.perf_counter(), time.process_time()
            loss = plain.step(sentences) if name == "plain" else ours.step(rows)
            if i >= args.warmup:
                times[name].append(time.perf_counter() - began)
                cpu[name].append(time.process_time() - began_cpu)
                losses[name].append(loss)
        if i >= args.warmup:
            lengths.append([len(r) for r in rows for _ in range(2)])
        print(f"train step {i + 1}/{total}", file=sys.stderr, flush=True)
    flops = statistics.mean(3 * forward_flops(encoder.config, rows) for rows in lengths)
    result = summarise("train step", times, cpu, flops, per=f"step of {args.batch} sentences ({2 * args.batch} rows)")
    result["losses"] = losses
    return result


# ---------------------------------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------------------------------


@torch.inference_mode()
def plain_encode(encoder, tokenizer, sentences: list[str], batch_size: int, length: int) -> np.ndarray:
    out = []
    for start in range(0, len(sentences), batch_size):
        batch = tokenizer(
            sentences[start : start + batch_size], padding=True, truncation=True, max_length=length, return_tensors="pt"
        )
        out.append(encoder(**batch).last_hidden_state[:, 0].float().numpy())
    return np.concatenate(out)


def bench_encode(what: str, encoder, tokenizer, sentences: list[str], args) -> dict:
    encoder.eval()
    ours = SentenceEncoder(encoder, tokenizer, "cls", torch.device("cpu"), args.length)
    times = {"plain": [], "ours": []}
    cpu = {"plain": [], "ours": []}
    vectors = {}
    for i in range(args.repeats):
        for name in ("plain", "ours") if i % 2 == 0 else ("ours", "plain"):
            began, began_cpu = time.perf_counter(), time.process_time()
            if name == "plain":
                vectors[name] = plain_encode(encoder, tokenizer, sentences, args.eval_batch, args.length)
            else:
                vectors[name] = ours.encode(sentences, batch_size=args.eval_batch, progress=False)
            times[name].append(time.perf_counter() - began)
            cpu[name].append(time.process_time() - began_cpu)
        print(f"{what} repeat {i + 1}/{args.repeats}", file=sys.stderr, flush=True)
    lengths = [len(ids) for ids in tokenizer(sentences, truncation=True, max_length=args.length)["input_ids"]]
    result = summarise(what, times, cpu, forward_flops(encoder.config, lengths), per=f"{len(sentences)} sentences")
    result["max_abs_difference"] = float(np.abs(vectors["plain"] - vectors["ours"]).max())
    result["distinct_sentences"] = len(set(sentences))
    return result


def summarise(what: str, times: dict, cpu: dict, flops: float, per: str) -> dict:
    plain, plain_iqr = median_iqr(times["plain"])
    ours, ours_iqr = median_iqr(times["ours"])
    plain_cpu, ours_cpu = statistics.median(cpu["plain"]), statistics.median(cpu["ours"])
    return {
        "what": what,
        "per": per,
        "repeats": len(times["ours"]),
        "plain_s": plain,
        "plain_iqr_s": plain_iqr,
        "ours_s": ours,
        "ours_iqr_s": ours_iqr,
        "speedup": plain / ours,
        "plain_cpu_s": plain_cpu,
        "ours_cpu_s": ours_cpu,
        "cpu_ratio": plain_cpu / ours_cpu,
        "model_gflop": flops / 1e9,
        "plain_gflop_per_s": flops / plain / 1e9,
        "ours_gflop_per_s": flops / ours / 1e9,
    }


def markdown(record: dict) -> str:
    lines = [
        f"Side by side on {record['machine']} ({record['threads']} torch threads), {record['model']}; "
        f"ours with: {record['fast'] or 'the defaults'}.",
        "",
        "| what | per | plain s (IQR) | ours s (IQR) | plain / ours | CPU s plain / ours | model GFLOP "
        "| plain GFLOP/s | ours GFLOP/s | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in record["results"]:
        diff = f"{row['max_abs_difference']:.1e}" if "max_abs_difference" in row else "–"
        lines.append(
            f"| {row['what']} | {row['per']} | {row['plain_s']:.3f} ({row['plain_iqr_s']:.3f}) | "
            f"{row['ours_s']:.3f} ({row['ours_iqr_s']:.3f}) | {row['speedup']:.2f}x | "
            f"{row['plain_cpu_s']:.2f} / {row['ours_cpu_s']:.2f} = {row['cpu_ratio']:.2f}x | "
            f"{row['model_gflop']:.1f} | "
            f"{row['plain_gflop_per_s']:.1f} | {row['ours_gflop_per_s']:.1f} | {diff} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="packaged:all-MiniLM-L6-v2")
    parser.add_argument("--senteval", required=True, help="SentEval's data/downstream folder")
    parser.add_argument("--corpus", required=True, help="training sentences, one per line")
    parser.add_argument("--what", nargs="+", choices=["train", "sts", "transfer"], default=["train", "sts", "transfer"])
    parser.add_argument("--batch", type=int, default=64, help="sentences per training step")
    parser.add_argument("--length", type=int, default=32, help="max tokens per row")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--steps", type=int, default=8, help="timed training steps per path")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--eval-batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2, help="timed encodings per path")
    parser.add_argument("--sts-sentences", type=int, default=None, help="only the first N STS sentences")
    parser.add_argument("--transfer-sentences", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--attention", choices=["sdpa", "eager"], default=None, help="attention implementation")
    parser.add_argument("--compile", action="store_true", help="ours: torch.compile the encoder (train step)")
    parser.add_argument("--fused-adamw", action="store_true", help="ours: the fused AdamW kernel")
    parser.add_argument("--length-buckets", type=int, default=1, help="ours: train.length_buckets")
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    kwargs = {"dtype": torch.float32}
    if args.attention:
        kwargs["attn_implementation"] = args.attention
    tokenizer, encoder = load_pretrained(args.model, resolve_model_source(args.model), **kwargs)
    fast = [f"attention={args.attention}"] if args.attention else []
    fast += ["torch.compile"] if args.compile else []
    fast += ["fused AdamW"] if args.fused_adamw else []
    fast += [f"length_buckets={args.length_buckets}"] if args.length_buckets > 1 else []

    results = []
    if "train" in args.what:
        results.append(bench_train(encoder, tokenizer, read_lines(args.corpus, 10**9), args))
    if "sts" in args.what:
        from gradparadigm.data.sts import parse_sts_all

        table = parse_sts_all(args.senteval)
        sentences = [s for pair in zip(table["sentence1"], table["sentence2"]) for s in pair]
        results.append(bench_encode("STS encoding", encoder, tokenizer, sentences[: args.sts_sentences], args))
    if "transfer" in args.what:
        from gradparadigm.data.transfer_tasks import parse_transfer_tasks

        table = parse_transfer_tasks(args.senteval)
        pool = list(table["sentence1"]) + [s for s in table["sentence2"] if isinstance(s, str) and s]
        pick = np.random.default_rng(0).choice(len(pool), size=min(args.transfer_sentences, len(pool)), replace=False)
        results.append(bench_encode("transfer encoding", encoder, tokenizer, [pool[i] for i in sorted(pick)], args))

    record = {
        "model": args.model,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "fast": ", ".join(fast),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "markdown")},
        "results": results,
    }
    text = markdown(record)
    print(text)
    for path, content in ((args.json, json.dumps(record, indent=2)), (args.markdown, text)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(content, encoding="utf-8")


if __name__ == "__main__":
    main()
