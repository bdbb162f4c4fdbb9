"""The paper's losses on hand-computed cases."""

import math

import pytest
import torch

from nrdh.losses import (
    binary_targets,
    gcn_loss,
    hash_loss,
    reconstruction_loss,
    weight_decay_loss,
)


def test_reconstruction_loss_reductions_and_mask():
    x = torch.tensor([[[1.0, 2.0], [5.0, 5.0]]])
    x_hat = torch.zeros_like(x)
    valid = torch.tensor([[True, False]])  # the second slot is padding
    assert reconstruction_loss(x, x_hat, valid, "element").item() == pytest.approx(2.5)
    assert reconstruction_loss(x, x_hat, valid, "node").item() == pytest.approx(5.0)
    assert reconstruction_loss(x, x_hat, None, "node").item() == pytest.approx((5 + 50) / 2)


def test_weight_decay_is_half_squared_frobenius():
    assert weight_decay_loss([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0]])]).item() == 7.0


def test_gcn_loss_eq8():
    x = torch.tensor([[[1.0, 2.0]]])
    total, lr, lw = gcn_loss(
        x, torch.zeros_like(x), [torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0]])], 0.999, 0.001
    )
    assert (lr.item(), lw.item()) == (2.5, 7.0)
    assert total.item() == pytest.approx(0.999 * 2.5 + 0.001 * 7.0)


def test_hash_loss_eq18_by_hand():
    fc = torch.tensor([[0.0, 1.0]])
    g = torch.tensor([[1.0, 1.0]])
    total, l_fc, l_fch = hash_loss(fc, torch.tanh(fc), g, 0.8, 0.2)
    assert l_fc.item() == pytest.approx(0.5)
    # b = [0.5 (sign 0), 1]; probabilities (tanh + 1) / 2 = [0.5, (tanh(1) + 1) / 2]
    p2 = (math.tanh(1.0) + 1) / 2
    expected_bce = (math.log(2) - math.log(p2)) / 2
    assert l_fch.item() == pytest.approx(expected_bce, rel=1e-6)
    assert total.item() == pytest.approx(0.8 * 0.5 + 0.2 * expected_bce, rel=1e-6)


def test_hash_loss_node_target_uses_sign_of_g():
    fc = torch.tensor([[2.0]])
    g = torch.tensor([[-1.0]])
    _, _, own = hash_loss(fc, torch.tanh(fc), g, 0.8, 0.2, target="own")
    _, _, node = hash_loss(fc, torch.tanh(fc), g, 0.8, 0.2, target="node")
    p = (math.tanh(2.0) + 1) / 2
    assert own.item() == pytest.approx(-math.log(p), rel=1e-5)
    assert node.item() == pytest.approx(-math.log(1 - p), rel=1e-5)


def test_bce_target_carries_no_gradient(monkeypatch):
    """Eq. 16's b is a constant target: dL_fch/dfch is BCE's gradient with b held fixed.

    sign() has a zero gradient, so a target left attached to the graph would still give the
    same numbers; a straight-through stand-in for sign (the same values, gradient 1) makes
    an attached target change the gradient, so this fails if b is not detached.
    """
    real_sign = torch.sign
    monkeypatch.setattr(torch, "sign", lambda x: x + (real_sign(x) - x).detach())
    fch = torch.tensor([[0.6, -0.2]], requires_grad=True)
    assert not binary_targets(fch).requires_grad
    _, _, l_fch = hash_loss(fch, fch, torch.zeros(1, 2), 0.0, 1.0)
    l_fch.backward()
    # p = (fch + 1) / 2 = (0.8, 0.4), b = (1, 0); L = mean BCE, dp/dfch = 1/2, so
    # dL/dfch = (1/2)(1/2) * (-1/p if b = 1 else 1/(1 - p)) = (-0.3125, 0.41667)
    assert fch.grad.tolist()[0] == pytest.approx([0.25 * -1 / 0.8, 0.25 / 0.6], rel=1e-5)
