"""Shared constants of the training tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import itertools

from gradparadigm.training.settings import TrainSettings

SUBJECTS = ["the cat", "a young man", "the committee", "my neighbour", "an old river", "the orchestra"]
VERBS = ["watched", "described", "ignored", "painted", "followed", "remembered"]
OBJECTS = [
    "the bright station near the harbour",
    "a long letter about the war",
    "three small boats",
    "the history of the northern railway",
    "an empty house on the hill",
]


def sentences(n: int) -> list[str]:
    combos = itertools.product(SUBJECTS, VERBS, OBJECTS)
    return [f"{s} {v} {o} ." for s, v, o in itertools.islice(combos, n)]


# 40 sentences, batches of 8: 5 steps per epoch; 6 steps cross an epoch boundary.
FAST = TrainSettings(batch_size=8, max_steps=6, eval_steps=2, log_steps=1, checkpoint_steps=2)
