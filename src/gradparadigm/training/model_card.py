"""The model card (README.md) of an exported encoder: what it was trained from, how, and where its
scores are. Written by the trainer in place of sentence-transformers' generic card, which knows
neither the base model nor the loss."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
PAPER = (
    "Li, Zhang, Nie. Towards Better Understanding of Contrastive Sentence Representation Learning: "
    "A Unified Paradigm for Gradient. ACL 2024. https://arxiv.org/abs/2402.18281"
)


def _front_matter(source: str) -> str:
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        "tags: [sentence-transformers, sentence-similarity, gradparadigm]",
    ]
    if _HUB_ID.match(source) and not source.startswith("packaged:"):
        lines.append(f"base_model: {source}")
    return "\n".join([*lines, "---", ""])


def model_card(record: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """Markdown for ``record`` (the trainer's hparams record) and ``result`` (best step and score)."""
    train, views = record["train"], record.get("views") or {}
    name = " / ".join(str(record[k]) for k in ("model", "variant") if record.get(k)) or record["loss"]
    seed = record.get("seed", "?")
    augment = record.get("augment") or {}
    rows = [
        ("Base model", f"`{record['model_source']}`"),
        ("Pooling", f"`{record['pooler']}` (no projection head: the training MLP is not exported)"),
        ("Loss", f"`{record['loss']}` with `{json.dumps(record['loss_args'], sort_keys=True)}`"),
        (
            "Training data",
            f"{views.get('n_sentences', '?')} sentences (corpus sha256 "
            f"`{str(views.get('corpus_sha256', '?'))[:16]}…`), max length {views.get('max_length', '?')},"
            f" views: {augment.get('strategy', 'dropout')} (rate {augment.get('rate', 0)})",
        ),
        ("Training", f"{result['steps']} steps, batch {train['batch_size']}, lr {train['lr']}, seed {seed}"),
        (
            "Model selection",
            f"best STS-B dev Spearman x100 {result['best_stsb_dev_spearman']:.2f} at step "
            f"{result['best_step']} (this checkpoint)",
        ),
        (
            "Test scores",
            "`../sts.json` and `../transfer.json` beside this folder, once evaluated (`snakemake` evaluates every run)",
        ),
    ]
    table = "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
    return (
        f"{_front_matter(str(record['model_source']))}\n# {name} (seed {seed})\n\n"
        "A sentence encoder trained by gradparadigm, a pipeline that reproduces and extends the paper "
        "below.\n\n"
        f"{table}\n\n"
        "```python\nfrom sentence_transformers import SentenceTransformer\n"
        'model = SentenceTransformer("path/to/this/folder")\n'
        'embeddings = model.encode(["A sentence.", "Another one."])\n```\n\n'
        f"Paper: {PAPER}\n"
    )
