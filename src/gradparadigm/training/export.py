"""Write a trained encoder as a sentence-transformers folder (Transformer + Pooling, no Dense, no
MLP head), loadable by ``SentenceTransformer(path)``, ``AutoModel.from_pretrained(path)`` and
:func:`gradparadigm.encoder.load_encoder` (which reads the pooler from ``1_Pooling/config.json``).

The folder is assembled by sentence-transformers itself (so its layout is whatever the pinned
version writes) from a staging copy of the Hugging Face model, and moved into place atomically.
The temporaries a killed export leaves (``.NAME.hf.*``, ``.NAME.*.tmp``) are removed by the next
export of the same folder; a failed write (disk full) names ``out_dir`` and leaves nothing.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import torch

from gradparadigm.errors import OutputWriteError
from gradparadigm.fileio import atomic_path, current_umask, remove_stale_temporaries, write_error

log = logging.getLogger(__name__)


def _st_modules():
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # older releases
        from sentence_transformers.models import Pooling, Transformer
    return Transformer, Pooling


def _shareable(folder: Path) -> None:
    """Files 0666 and folders 0777 less the umask (writers such as safetensors leave 0600)."""
    mask = current_umask()
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def save_sentence_transformer(
    encoder: torch.nn.Module, tokenizer, pooler: str, out_dir: str | Path, max_seq_length: int, card: str | None = None
) -> Path:
    """Save ``encoder`` + ``tokenizer`` with a ``pooler`` (cls/mean) Pooling module at ``out_dir``;
    ``card`` (Markdown) replaces sentence-transformers' README.md."""
    from safetensors import SafetensorError
    from sentence_transformers import SentenceTransformer

    Transformer, Pooling = _st_modules()
    out_dir = Path(out_dir)
    remove_stale_temporaries(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with (
            atomic_path(out_dir, is_dir=True) as tmp,
            tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.hf.", dir=out_dir.parent) as staging,
        ):
            encoder.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            transformer = Transformer(staging, max_seq_length=max_seq_length)
            dim = encoder.config.hidden_size
            model = SentenceTransformer(modules=[transformer, Pooling(dim, pooling_mode=pooler)], device="cpu")
            model.save(str(tmp))
            if card is not None:
                (tmp / "README.md").write_text(card, encoding="utf-8")
            _shareable(tmp)
    except (OSError, RuntimeError, SafetensorError, OutputWriteError) as exc:
        raise write_error(out_dir, exc, what="model") from exc
    log.info("saved the encoder (%s pooling, max length %d) to %s", pooler, max_seq_length, out_dir)
    return out_dir
