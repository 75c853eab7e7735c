"""Encoder loading, pooling and batched encoding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gradparadigm.encoder import load_encoder, pool, resolve_model_source, saved_pooler
from gradparadigm.errors import ModelLoadError


def test_pool_cls_and_mask_aware_mean():
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    torch.testing.assert_close(pool(hidden, mask, "cls"), hidden[:, 0])
    # row 0 averages tokens 0 and 1 only: ((0,1) + (2,3)) / 2 = (1, 2)
    torch.testing.assert_close(pool(hidden, mask, "mean"), torch.tensor([[1.0, 2.0], [8.0, 9.0]]))
    with pytest.raises(ValueError, match="unknown pooler 'max'"):
        pool(hidden, mask, "max")


def test_batched_encoding_equals_one_sentence_at_a_time(tiny_bert_dir):
    encoder = load_encoder(str(tiny_bert_dir), "mean", device="cpu")
    sentences = ["a b c d e f g", "short", "a medium length sentence here", "short", "x y"]
    batched = encoder.encode(sentences, batch_size=2, progress=False)
    singles = np.stack([encoder.encode([s], progress=False)[0] for s in sentences])
    np.testing.assert_allclose(batched, singles, atol=1e-5)
    assert batched.shape == (5, 32) and batched.dtype == np.float32
    np.testing.assert_array_equal(batched[1], batched[3])  # duplicates encoded once, mapped back
    cls = load_encoder(str(tiny_bert_dir), "cls", device="cpu")
    assert not np.allclose(cls.encode(sentences, progress=False), batched)
    assert cls.fingerprint() != encoder.fingerprint()


def test_packaged_model_and_recorded_pooler():
    path = resolve_model_source("packaged:all-MiniLM-L6-v2")
    assert saved_pooler(path) == "mean"  # its 1_Pooling/config.json
    with pytest.raises(ModelLoadError, match="unknown packaged model 'nope'"):
        resolve_model_source("packaged:nope")


def test_saved_pooler_reads_sentence_transformers_config(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert saved_pooler(tmp_path) == "cls"
    assert saved_pooler(tmp_path / "elsewhere") is None


def test_missing_models_fail_fast_with_advice(tmp_path, monkeypatch):
    with pytest.raises(ModelLoadError, match="no such model folder"):
        resolve_model_source(str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match="needs a config.json"):
        resolve_model_source(str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE=1"):
        resolve_model_source("some-org/some-model")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ModelLoadError, match="cannot be reached"):
        resolve_model_source("some-org/some-model")


def test_mistyped_local_paths_are_not_taken_for_hub_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"")
    for source in ("models/nope", "./nope", "~/nope-gradparadigm", "a/b/c", "weights.bin"):
        with pytest.raises(ModelLoadError, match="no such model folder|is a file, not a model folder") as info:
            resolve_model_source(source)
        assert str(info.value).startswith(f"{source}: ")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # org/name without a local org/ folder: a hub id, and said so
    with pytest.raises(ModelLoadError, match=r"HF_HUB_OFFLINE=1 \(nor is there a local model folder .*other/nope\)"):
        resolve_model_source("other/nope")


def test_device_is_checked_before_loading(tiny_bert_dir, monkeypatch):
    from gradparadigm.encoder import choose_device
    from gradparadigm.errors import DeviceError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    message = r"device 'cuda' requested \(eval.device / --device\) but CUDA is not available"
    with pytest.raises(DeviceError, match=message):
        choose_device("cuda", where="eval.device / --device")
    with pytest.raises(DeviceError, match=r"device 'gpu' \(device\): expected auto, cpu, cuda or cuda:N"):
        choose_device("gpu")
    assert choose_device("auto").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(DeviceError, match="only 1 CUDA device"):
        choose_device("cuda:1")


def test_truncated_weights_are_named(tiny_bert_dir, tmp_path):
    import shutil

    model = Path(shutil.copytree(tiny_bert_dir, tmp_path / "model"))
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match=rf"^{weights}: corrupt or truncated weights file"):
        load_encoder(str(model), device="cpu")
