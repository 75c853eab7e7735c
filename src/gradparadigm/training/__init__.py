"""Training: one encoder per (model, loss variant, seed), unsupervised SimCSE protocol (method.md §7).

Modules (importable without Snakemake):

* :mod:`.settings`: ``TrainSettings`` (every setting and its default), ``AugmentSettings``,
  ``resolve_run_settings`` (study config -> one run's complete settings), ``views_key``;
* :mod:`.views`: the two views of every sentence, tokenized once and cached (Arrow);
  ``build_views``, ``load_views``, the augmentations ``delete_words`` / ``shuffle_tokens``;
* :mod:`.head`: the training-only MLP heads (``linear``, ``tanh_linear``, ``simcse``);
* :mod:`.diagnostics`: the batch statistics logged while training (method.md §8);
* :mod:`.dynamics`: how one optimiser step moved the batch's similarities (re-scored, same dropout);
* :mod:`.checkpoint`: resumable checkpoints with every RNG state;
* :mod:`.trainer`: ``train(...)``, the loop; ``training_step`` (also used by ``bench/train_step.py``);
* :mod:`.export`: the best checkpoint as a sentence-transformers folder.

This package's ``__init__`` imports only the light settings module, so the Snakemake workflow can
resolve configs at parse time without loading transformers.
"""

from .settings import (
    AUGMENTATIONS,
    HEADS,
    TRAIN_DEFAULTS,
    AugmentSettings,
    TrainSettings,
    resolve_run_settings,
    views_key,
)

__all__ = [
    "AUGMENTATIONS",
    "HEADS",
    "TRAIN_DEFAULTS",
    "AugmentSettings",
    "TrainSettings",
    "resolve_run_settings",
    "views_key",
]
