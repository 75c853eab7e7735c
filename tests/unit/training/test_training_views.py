"""Views: the augmentations do what they say, the Arrow cache is keyed and reused, batches interleave
the two views."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from gradparadigm.training import views as views_module
from gradparadigm.training.settings import AugmentSettings
from gradparadigm.training.views import build_views, collate, delete_words, load_views, shuffle_tokens

LONG = " ".join(f"w{i}" for i in range(4000))


def test_word_deletion_rate():
    rng = np.random.default_rng(0)
    kept = delete_words(LONG, 0.3, rng).split()
    assert 0.66 < len(kept) / 4000 < 0.74
    assert kept == [w for w in LONG.split() if w in set(kept)]  # order kept, nothing invented
    assert delete_words("a b c", 0.0, rng) == "a b c"
    assert all(delete_words("one two", 0.99, rng) for _ in range(50))  # never empty


def test_token_shuffle_keeps_the_multiset_and_the_special_tokens():
    rng = np.random.default_rng(0)
    ids = [101, *range(1000, 1030), 102]
    special = [1] + [0] * 30 + [1]
    full = shuffle_tokens(ids, special, 1.0, rng)
    assert Counter(full) == Counter(ids) and full[0] == 101 and full[-1] == 102
    assert full != ids
    part = shuffle_tokens(ids, special, 0.2, rng)  # 6 of 30 positions permuted
    assert Counter(part) == Counter(ids) and sum(a != b for a, b in zip(part, ids)) <= 6
    assert shuffle_tokens(ids, special, 0.0, rng) == ids


def test_dropout_views_are_identical_and_cached(views_dir):
    data, meta = load_views(views_dir)
    assert meta["augment"] == {"strategy": "dropout", "rate": 0.0} and meta["seed"] is None
    assert len(data) == meta["n_sentences"] == 40 == meta["identical_views"]
    assert data[0]["input_ids_0"] == data[0]["input_ids_1"]
    assert all(len(ids) <= 32 for ids in data["input_ids_0"])


def test_discrete_views_and_cache_reuse(tmp_path, corpus_file, tiny_model_dir, views_dir, monkeypatch):
    source = str(tiny_model_dir)
    base, _ = load_views(views_dir)
    out = tmp_path / "shuffle"
    shuffle = AugmentSettings("token_shuffle", 1.0)
    meta = build_views(corpus_file, source, out, augment=shuffle, seed=3, progress=False)
    data, _ = load_views(out)
    for row, ref in zip(data, base):
        for view in ("input_ids_0", "input_ids_1"):
            assert Counter(row[view]) == Counter(ref["input_ids_0"])
    assert meta["identical_views"] < 40

    deletion = build_views(
        corpus_file, source, tmp_path / "del", augment=AugmentSettings("word_deletion", 0.3), seed=3, progress=False
    )
    deleted, _ = load_views(tmp_path / "del")
    assert deletion["mean_tokens_view0"] < meta["mean_tokens_view0"]
    assert deleted["input_ids_0"] != deleted["input_ids_1"]

    def fail(*args, **kwargs):
        raise AssertionError("an up-to-date views cache was rebuilt")

    monkeypatch.setattr(views_module, "make_views", fail)
    assert build_views(corpus_file, source, out, augment=shuffle, seed=3, progress=False) == meta
    with pytest.raises(AssertionError, match="rebuilt"):  # another seed is another cache
        build_views(corpus_file, source, out, augment=shuffle, seed=4, progress=False)


def test_changed_corpus_rebuilds(tmp_path, corpus_file, tiny_model_dir):
    out = tmp_path / "views"
    first = build_views(corpus_file, str(tiny_model_dir), out, progress=False)
    smaller = tmp_path / "corpus.txt"
    smaller.write_text("\n".join(corpus_file.read_text().splitlines()[:10]) + "\n")
    second = build_views(smaller, str(tiny_model_dir), out, progress=False)
    assert first["n_sentences"] == 40 and second["n_sentences"] == 10
    assert len(load_views(out)[0]) == 10


def test_collate_interleaves_and_pads():
    batch = collate(
        [[101, 5, 102], [101, 6, 7, 8, 102]],
        [[101, 9, 102], [101, 102]],
        pad_id=0,
        input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    assert batch["input_ids"].tolist() == [
        [101, 5, 102, 0, 0],
        [101, 9, 102, 0, 0],
        [101, 6, 7, 8, 102],
        [101, 102, 0, 0, 0],
    ]
    assert batch["attention_mask"].sum(1).tolist() == [3, 3, 5, 2]
    assert batch["token_type_ids"].abs().sum() == 0
    assert "token_type_ids" not in collate([[1, 2]], [[1, 2]], 1, ["input_ids", "attention_mask"])
