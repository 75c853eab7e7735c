"""Fixtures of the training tests: a tiny randomly initialised BERT (2 layers, hidden 32) with the
packaged MiniLM's tokenizer, a few dozen sentences, their cached views and a small STS-B dev table.
Everything is built once per session under pytest's tmp dir; a training run takes well under a second.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from gradparadigm.training.settings import AugmentSettings, TrainSettings

from training_testkit import FAST, sentences


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny tensors: OpenMP threads only contend with the other jobs of a shared machine. Session
    scope, so that module-scoped runs use it too: CPU results are bit-identical only at equal
    thread counts (the reduction order changes with them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from gradparadigm.encoder import resolve_model_source

    return AutoTokenizer.from_pretrained(resolve_model_source("packaged:all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(1234)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(sentences(40)) + "\n")
    return path


@pytest.fixture(scope="session")
def views_dir(tmp_path_factory, corpus_file, tiny_model_dir) -> Path:
    from gradparadigm.training.views import build_views

    out = tmp_path_factory.mktemp("views") / "dropout"
    build_views(corpus_file, str(tiny_model_dir), out, max_length=32, augment=AugmentSettings(), progress=False)
    return out


@pytest.fixture(scope="session")
def sts_dev() -> pd.DataFrame:
    """16 STS-B-like dev pairs with graded scores (enough for a Spearman that moves when training)."""
    sents = sentences(40)
    rows = [
        {
            "task": "STSBenchmark",
            "subset": "main-captions",
            "split": "dev",
            "sentence1": sents[i],
            "sentence2": sents[(i * 7) % 40],
            "score": float(i % 6),
            "line": i + 1,
        }
        for i in range(16)
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def run_training(tiny_model_dir, views_dir, sts_dev):
    """``run_training(out_dir, **overrides) -> (hparams record, paths)`` with the tiny setup."""
    from gradparadigm.training.trainer import train

    def run(out: Path, *, settings: TrainSettings = FAST, loss: str = "infonce", **kwargs):
        paths = {
            "model_out": out / "model",
            "log_out": out / "train_log.jsonl",
            "hparams_out": out / "hparams.json",
            "checkpoint_dir": out / "checkpoint",
        }
        options = {
            "model_source": str(tiny_model_dir),
            "views_dir": views_dir,
            "sts_table": sts_dev,
            "loss": loss,
            "settings": settings,
            "seed": 0,
            "progress": False,
            **paths,
            **kwargs,
        }
        return train(**options), paths

    return run
