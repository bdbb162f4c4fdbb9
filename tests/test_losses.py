"""The paper's losses on hand-computed cases."""

import math

import pytest
import torch

from nrdh.losses import gcn_loss, hash_loss, reconstruction_loss, weight_decay_loss


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


def test_bce_target_carries_no_gradient():
    fc = torch.tensor([[0.3, -0.2]], requires_grad=True)
    _, _, l_fch = hash_loss(fc, torch.tanh(fc), torch.zeros(1, 2), 0.0, 1.0)
    l_fch.backward()
    # pushing towards the own sign: gradient sign opposite to fc's sign
    assert fc.grad[0, 0] < 0 < fc.grad[0, 1]
