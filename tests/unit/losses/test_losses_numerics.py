"""Numerics: no NaN on degenerate batches, precision handling, autocast."""

from __future__ import annotations

import pytest
import torch

from gradparadigm.losses import LOSS_NAMES, build_loss

from losses_testkit import NONCONTRASTIVE, make_views

VARIANTS = (
    [(name, {}) for name in LOSS_NAMES]
    + [(name, {"gd": True, "weight": True, "ratio": True}) for name in NONCONTRASTIVE]
    + [("sg", {"gd": False, "weight": False}), ("sg", {"power": 4})]
)
IDS = [name + "".join(f"-{key}={value}" for key, value in hp.items()) for name, hp in VARIANTS]


def degenerate_batches():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(5, 8, generator=gen)
    return {
        "identical_views": (z, z.clone()),
        "identical_rows": (torch.ones(4, 6), torch.ones(4, 6)),
        "antipodal_views": (z, -z),
        "zero_vectors": (torch.zeros(3, 4), torch.zeros(3, 4)),
        "batch_of_2": (torch.randn(2, 8, generator=gen), torch.randn(2, 8, generator=gen)),
        "dim_1": (torch.randn(6, 1, generator=gen), torch.randn(6, 1, generator=gen)),
        "dim_1_batch_2": (torch.tensor([[1.0], [-2.0]]), torch.tensor([[3.0], [0.5]])),
    }


@pytest.mark.parametrize(("name", "hp"), VARIANTS, ids=IDS)
@pytest.mark.parametrize("case", list(degenerate_batches()))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_nan_on_degenerate_batches(name, hp, case, dtype):
    z0, z1 = (t.to(dtype).requires_grad_(True) for t in degenerate_batches()[case])
    value = build_loss(name, **hp)(z0, z1)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(z0.grad).all() and torch.isfinite(z1.grad).all()


@pytest.mark.parametrize(
    ("name", "hp"),
    [("sg", {"m": -5.0})] + [(name, {"gd": True, "m": -1.0}) for name in NONCONTRASTIVE],
)
def test_all_gates_closed_gives_zero_gradient(name, hp):
    z0, z1 = (t.requires_grad_(True) for t in make_views(1, 6, 5, dtype=torch.float32))
    value = build_loss(name, **hp)(z0, z1)
    value.backward()  # must not raise although nothing flows
    assert torch.isfinite(value)
    assert torch.all(z0.grad == 0) and torch.all(z1.grad == 0)
    if name == "sg":
        assert value.item() == 0.0  # closed rows count as zero (the official code gives NaN)


@pytest.mark.parametrize("name", ["mpt", "met", "mat"])
def test_inactive_hinges_give_zero_loss_and_gradient(name):
    z0, z1 = (t.requires_grad_(True) for t in make_views(2, 5, 6, dtype=torch.float32))
    value = build_loss(name, m=-10.0)(z0, z1)
    value.backward()
    assert value.item() == 0.0 and torch.all(z0.grad == 0)


@pytest.mark.parametrize(("name", "hp"), VARIANTS, ids=IDS)
def test_precision_float64_stays_and_half_precisions_are_upcast(name, hp):
    loss = build_loss(name, **hp)
    z0, z1 = make_views(3, 6, 10, dtype=torch.float64)
    assert loss(z0, z1).dtype == torch.float64
    for low in (torch.bfloat16, torch.float16):
        a, b = (t.to(low).requires_grad_(True) for t in (z0, z1))
        value = loss(a, b)
        assert value.dtype == torch.float32
        value.backward()
        assert a.grad.dtype == low and torch.isfinite(a.grad.float()).all()
        # the same numbers as a float32 run on the same (rounded) inputs
        torch.testing.assert_close(value, loss(a.detach().float(), b.detach().float()), rtol=0, atol=0)


@pytest.mark.parametrize(("name", "hp"), VARIANTS, ids=IDS)
def test_autocast_is_disabled_inside_the_loss(name, hp):
    """Under CPU autocast to bf16 the loss still computes in float32: identical to an fp32 run."""
    loss = build_loss(name, **hp)
    z0, z1 = make_views(4, 8, 12, dtype=torch.float32)
    linear = torch.nn.Linear(12, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h0, h1 = linear(z0), linear(z1)  # bf16 activations, as an encoder under autocast gives
        value = loss(h0, h1)
    assert h0.dtype == torch.bfloat16 and value.dtype == torch.float32
    torch.testing.assert_close(value, loss(h0.float(), h1.float()), rtol=0, atol=0)
    value.backward()
    assert torch.isfinite(linear.weight.grad).all()


def test_mixed_precision_views_promote():
    z0, z1 = make_views(5, 4, 3, dtype=torch.float64)
    assert build_loss("infonce")(z0, z1.float()).dtype == torch.float64
