"""The CPU fast path ``train.length_buckets``: a batch encoded in length groups, each padded to its own
longest row, computes the same function as the whole padded batch (same pooled rows, same
gradients, and with dropout off the same training run to 1e-4)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from gradparadigm.errors import ConfigError
from gradparadigm.training.settings import TrainSettings
from gradparadigm.training.trainer import ContrastiveModel, length_groups
from gradparadigm.training.views import collate

from training_testkit import FAST

TEXTS = [
    "a cat .",
    "the committee described the history of the northern railway to an old river in the rain .",
    "three boats",
    "my neighbour painted an empty house on the hill near the bright station .",
    "an orchestra .",
    "the young man remembered a long letter about the war and the harbour .",
    "yes",
    "the old river followed the railway .",
]


@pytest.fixture(scope="module")
def batch(tokenizer):
    ids = tokenizer(TEXTS, truncation=True, max_length=32)["input_ids"]
    return collate(ids, ids, tokenizer.pad_token_id, tokenizer.model_input_names)


def _model(tiny_model_dir, buckets: int) -> ContrastiveModel:
    from transformers import AutoModel

    from gradparadigm.training.head import build_head

    torch.manual_seed(0)
    encoder = AutoModel.from_pretrained(tiny_model_dir)
    return ContrastiveModel(encoder, "cls", build_head("linear", 32), length_buckets=buckets).eval()


def test_length_groups_cover_every_row_once_and_trim_to_the_longest(batch):
    mask = batch["attention_mask"]
    groups = length_groups(mask, 3)
    rows = torch.cat([r for r, _ in groups])
    assert sorted(rows.tolist()) == list(range(mask.shape[0]))
    lengths = mask.sum(dim=1)
    for members, width in groups:
        assert width == int(lengths[members].max())
    assert max(w for _, w in groups) == mask.shape[1] and min(w for _, w in groups) < mask.shape[1]


@pytest.mark.parametrize("pooler", ["cls", "mean"])
@pytest.mark.parametrize("buckets", [2, 4])
def test_buckets_compute_the_same_rows_and_gradients(tiny_model_dir, batch, pooler, buckets):
    outputs = {}
    for k in (1, buckets):
        model = _model(tiny_model_dir, k)
        model.pooler = pooler
        pooled, z = model(batch)
        z.square().sum().backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        outputs[k] = (pooled.detach(), grads)
    (one, grads_one), (many, grads_many) = outputs[1], outputs[buckets]
    torch.testing.assert_close(many, one, atol=1e-5, rtol=1e-5)
    assert grads_one.keys() == grads_many.keys()
    for name in grads_one:
        torch.testing.assert_close(grads_many[name], grads_one[name], atol=1e-5, rtol=1e-4, msg=name)


def test_a_batch_smaller_than_the_groups_is_encoded_whole(tiny_model_dir, batch):
    small = {key: value[:3] for key, value in batch.items()}
    torch.testing.assert_close(_model(tiny_model_dir, 4)(small)[0], _model(tiny_model_dir, 1)(small)[0])


@pytest.fixture(scope="module")
def no_dropout_model_dir(tmp_path_factory, tiny_model_dir):
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    path = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    config = AutoConfig.from_pretrained(tiny_model_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    AutoModel.from_pretrained(tiny_model_dir, config=config).save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(path)
    return path


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_without_dropout_a_bucketed_run_equals_the_plain_run(tmp_path, run_training, no_dropout_model_dir):
    _, plain = run_training(tmp_path / "plain", model_source=str(no_dropout_model_dir))
    fast = dataclasses.replace(FAST, length_buckets=3)
    _, bucketed = run_training(tmp_path / "fast", settings=fast, model_source=str(no_dropout_model_dir))
    a, b = _records(plain["log_out"]), _records(bucketed["log_out"])
    assert [r["type"] for r in a] == [r["type"] for r in b]
    losses = [(r["loss"], s["loss"]) for r, s in zip(a, b) if r["type"] == "train"]
    scores = [(r["stsb_dev_spearman"], s["stsb_dev_spearman"]) for r, s in zip(a, b) if r["type"] == "eval"]
    assert len(losses) == 6 and len(scores) >= 3
    for x, y in losses + scores:
        assert x == pytest.approx(y, abs=1e-4)


def test_length_buckets_are_validated():
    with pytest.raises(ConfigError, match="length_buckets"):
        TrainSettings(length_buckets=0)


@pytest.mark.slow
def test_without_dropout_a_compiled_run_equals_the_eager_run(tmp_path, run_training, no_dropout_model_dir):
    """``train.compile`` (torch.compile of the encoder, in place) trains the same function: with
    dropout off, the same losses and STS-B dev scores to 1e-4, and the export loads as usual."""
    _, eager = run_training(tmp_path / "eager", model_source=str(no_dropout_model_dir))
    compiled_settings = dataclasses.replace(FAST, compile=True)
    _, compiled = run_training(
        tmp_path / "compiled", settings=compiled_settings, model_source=str(no_dropout_model_dir)
    )
    a, b = _records(eager["log_out"]), _records(compiled["log_out"])
    losses = [(r["loss"], s["loss"]) for r, s in zip(a, b) if r["type"] == "train"]
    scores = [(r["stsb_dev_spearman"], s["stsb_dev_spearman"]) for r, s in zip(a, b) if r["type"] == "eval"]
    assert len(losses) == 6 and len(scores) >= 3
    for x, y in losses + scores:
        assert x == pytest.approx(y, abs=1e-4)
