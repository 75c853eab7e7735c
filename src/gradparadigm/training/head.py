"""The training-only MLP head between the pooled sentence vector and the loss.

What the two reference codes do (read from the public repositories):

* **Official code** (``BDBC-KG-NLP/UnderstandingCSE``, ``isotropy/models.py``): ``MLPLayer`` applies
  ``tanh`` *before* a ``Linear(hidden, feature_size=hidden)`` when ``activate`` is set. ``IBert``
  builds it with ``activate=False`` (**Linear only**); ``IRoberta`` with ``activate=True`` (**tanh,
  then Linear**). ``custom_param_init`` draws the Linear's weight *and* bias from N(0, 6e-3). The
  head is used only when pooling the [CLS] vector (``_get_embedding``: the ``avg`` pooler returns
  the mean without it), only for the loss: ``_sentemb_forward`` (evaluation) uses ``with_mlp=False``.
* **SimCSE** (``princeton-nlp/SimCSE``, ``simcse/models.py``): ``MLPLayer`` = Linear then tanh,
  built only for the ``cls`` pooler, initialised by the backbone's ``init_weights`` (BERT: N(0, 0.02),
  bias 0); with ``mlp_only_train`` (unsupervised) it is dropped at evaluation.

Kinds here: ``linear`` (official, BERT), ``tanh_linear`` (official, RoBERTa), ``simcse``
(Linear+tanh), ``none``; ``auto`` picks the official code's choice: ``none`` for mean pooling, else
``tanh_linear`` for RoBERTa-family backbones and ``linear`` otherwise. Every kind draws weight and
bias from N(0, ``init_std``) (default 0.006, the official code's).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

HEAD_KINDS = ("linear", "tanh_linear", "simcse", "none")
ROBERTA_FAMILY = ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl", "data2vec-text")


def resolve_head(kind: str, pooler: str, model_type: str) -> str:
    """The concrete head for ``kind`` (``auto`` resolved by pooler and backbone family)."""
    if kind != "auto":
        if kind not in HEAD_KINDS:
            raise ValueError(f"unknown head {kind!r}; valid: auto, {', '.join(HEAD_KINDS)}")
        return kind
    if pooler != "cls":
        return "none"
    return "tanh_linear" if model_type in ROBERTA_FAMILY else "linear"


class ProjectionHead(nn.Module):
    """``linear``: W x + b; ``tanh_linear``: W tanh(x) + b; ``simcse``: tanh(W x + b)."""

    def __init__(self, kind: str, hidden: int, init_std: float = 0.006):
        super().__init__()
        if kind not in HEAD_KINDS or kind == "none":
            raise ValueError(f"ProjectionHead kind must be linear, tanh_linear or simcse, got {kind!r}")
        self.kind = kind
        self.linear = nn.Linear(hidden, hidden)
        nn.init.normal_(self.linear.weight, 0.0, init_std)
        nn.init.normal_(self.linear.bias, 0.0, init_std)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "tanh_linear":
            return self.linear(torch.tanh(x))
        out = self.linear(x)
        return torch.tanh(out) if self.kind == "simcse" else out

    def extra_repr(self) -> str:
        return f"kind={self.kind}"


def build_head(kind: str, hidden: int, init_std: float = 0.006) -> nn.Module:
    """A head module for a concrete ``kind`` (``none`` -> ``nn.Identity``)."""
    return nn.Identity() if kind == "none" else ProjectionHead(kind, hidden, init_std)
