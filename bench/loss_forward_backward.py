"""Micro-benchmark: forward + backward time of every loss (ori and mod where it applies).

    PYTHONPATH=src python bench/loss_forward_backward.py --n 128 --d 768 --device cpu

Times ``loss(z0, z1).backward()`` (and, with ``--measure``, ``measure_gradient_components``) on
random views shaped like sentence embeddings: a shared direction plus noise (cosine ~0.77 between
sentences, ~0.97 for positives), so that part of the GD gates are open (``--measure`` reports the
share of anchors receiving gradient).  Reports the median and inter-quartile range over
``--repeats`` runs after ``--warmup`` runs, as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gradparadigm.losses import LOSS_NAMES, build_loss, measure_gradient_components

MODDABLE = ("mhe", "mhs", "barlow_twins", "vicreg")


def variants():
    for name in LOSS_NAMES:
        if name in MODDABLE:
            yield name, "ori", {}
            yield name, "mod", {"gd": True, "weight": True, "ratio": True}
        else:
            yield name, "mod (default)" if name == "sg" else "-", {}


def views(n: int, d: int, device: str, dtype: torch.dtype, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    shared = torch.randn(1, d, generator=gen)
    z0 = shared + 0.55 * torch.randn(n, d, generator=gen)
    z1 = z0 + 0.2 * torch.randn(n, d, generator=gen)
    return z0.to(device, dtype), z1.to(device, dtype)


def timed(fn, repeats: int, warmup: int, device: str) -> list[float]:
    out = []
    for i in range(warmup + repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= warmup:
            out.append((time.perf_counter() - start) * 1e3)
    return out


def median_iqr(samples: list[float]) -> str:
    q1, med, q3 = statistics.quantiles(samples, n=4)
    return f"{med:.2f} ({q3 - q1:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128, help="batch size N")
    parser.add_argument("--d", type=int, default=768, help="embedding dimension D")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float64"])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--measure", action="store_true", help="also time measure_gradient_components")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    z0, z1 = views(args.n, args.d, args.device, getattr(torch, args.dtype))
    z0.requires_grad_(True)
    z1.requires_grad_(True)

    header = "| loss | variant | forward+backward ms, median (IQR) |"
    rule = "|---|---|---|"
    if args.measure:
        header += " measure_gradient_components ms, median (IQR) | gd_active_frac |"
        rule += "---|---|"
    print(
        f"N={args.n} D={args.d} device={args.device} dtype={args.dtype} "
        f"threads={torch.get_num_threads()} repeats={args.repeats} warmup={args.warmup} "
        f"torch={torch.__version__}\n"
    )
    print(header)
    print(rule)
    for name, label, hp in variants():
        loss = build_loss(name, **hp)

        def step():
            z0.grad = z1.grad = None
            loss(z0, z1).backward()

        row = f"| {name} | {label} | {median_iqr(timed(step, args.repeats, args.warmup, args.device))} |"
        if args.measure:
            run = lambda: measure_gradient_components(loss, z0, z1)  # noqa: E731
            row += f" {median_iqr(timed(run, args.repeats, args.warmup, args.device))} |"
            row += f" {run()['gd_active_frac']:.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
