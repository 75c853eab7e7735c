"""Heads (kinds, auto choice, init) and the logged batch statistics on hand-computable batches."""

from __future__ import annotations

import math

import pytest
import torch

from gradparadigm.losses import build_loss
from gradparadigm.training.diagnostics import batch_statistics, describe_inputs
from gradparadigm.training.head import ProjectionHead, build_head, resolve_head


def test_auto_head_follows_the_official_code():
    assert resolve_head("auto", "cls", "bert") == "linear"
    assert resolve_head("auto", "cls", "roberta") == "tanh_linear"
    assert resolve_head("auto", "mean", "bert") == "none"
    assert resolve_head("simcse", "mean", "bert") == "simcse"
    with pytest.raises(ValueError):
        resolve_head("mlp", "cls", "bert")


def test_head_kinds_compute_their_formulas():
    torch.manual_seed(0)
    x = torch.randn(5, 16)
    for kind, expected in [
        ("linear", lambda h: h.linear(x)),
        ("tanh_linear", lambda h: h.linear(torch.tanh(x))),
        ("simcse", lambda h: torch.tanh(h.linear(x))),
    ]:
        head = build_head(kind, 16, 0.5)
        assert torch.equal(head(x), expected(head))
    assert isinstance(build_head("none", 16), torch.nn.Identity)


def test_head_init_is_normal_with_the_official_std():
    torch.manual_seed(0)
    head = ProjectionHead("linear", 384)
    assert abs(head.linear.weight.std().item() - 0.006) < 0.0002
    assert abs(head.linear.weight.mean().item()) < 0.0002
    assert abs(head.linear.bias.std().item() - 0.006) < 0.001  # bias drawn too, not zeroed


def test_statistics_on_orthogonal_pairs():
    # e0_i = u_i, e1_i = cos(a) u_i + sin(a) u_{i+4}: positives at cosine cos(a), all negatives at 0
    a = 0.8
    eye = torch.eye(8)
    z0 = 3.0 * eye[:4]  # the scale must not matter
    z1 = math.cos(a) * eye[:4] + math.sin(a) * eye[4:]
    stats = batch_statistics(z0, z1, build_loss("infonce", tau=1.0))
    assert stats["pos_cos"] == pytest.approx(math.cos(a)) and stats["neg_cos_mean"] == pytest.approx(0.0)
    assert stats["neg_cos_hardest"] == pytest.approx(0.0) and stats["gap"] == pytest.approx(math.cos(a))
    assert stats["alignment"] == pytest.approx(2 - 2 * math.cos(a))
    assert stats["uniformity"] == pytest.approx(-4.0)  # every same-view pair at squared distance 2
    assert stats["gd_active_frac"] == 1.0 and stats["r_effective"] == pytest.approx(1.0, rel=1e-5)
    assert stats["w_hardest_share"] == pytest.approx(1 / 3, rel=1e-5)  # equal negatives: uniform W


def test_statistics_with_two_angles():
    e0 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    e1 = torch.tensor([[math.cos(0.3), math.sin(0.3)], [-math.sin(0.5), math.cos(0.5)]])
    stats = batch_statistics(e0, e1)
    assert stats["pos_cos"] == pytest.approx((math.cos(0.3) + math.cos(0.5)) / 2)
    negatives = [math.sin(0.5) * -1, math.sin(0.3)]  # s_01 = e0_0·e1_1, s_10 = e0_1·e1_0
    assert stats["neg_cos_mean"] == pytest.approx(sum(negatives) / 2)
    assert stats["alignment"] == pytest.approx(((2 - 2 * math.cos(0.3)) + (2 - 2 * math.cos(0.5))) / 2)
    assert "gd_active_frac" not in stats


def test_closed_gates_give_null_not_nan():
    z = torch.eye(4)
    stats = batch_statistics(z, z.clone(), build_loss("mpt"))  # gap 1 > margin: no anchor gets gradient
    assert stats["gd_active_frac"] == 0.0
    assert stats["w_hardest_share"] is None and stats["r_effective"] is None


def test_statistics_draw_no_random_numbers_and_keep_graphs_alone():
    torch.manual_seed(0)
    z0 = torch.randn(8, 16, requires_grad=True)
    z1 = z0.detach() + 0.1 * torch.randn(8, 16)
    state = torch.get_rng_state()
    batch_statistics(z0, z1, build_loss("mhe", gd=True, weight=True, ratio=True))
    assert torch.equal(state, torch.get_rng_state())
    assert z0.grad is None


def test_describe_inputs_reports_nan_rows():
    z0 = torch.ones(3, 4)
    z1 = z0.clone()
    z1[1, 2] = float("nan")
    text = describe_inputs(None, z0, z1)
    assert "z1 (3, 4)" in text and "1 row(s) with NaN/inf" in text and "cosines min/max" in text
