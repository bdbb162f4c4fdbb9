"""The paper's two losses as pure functions: L1 (Eqs. 6-8) and L2 (Eqs. 15-18)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    valid: torch.Tensor | None = None,
    reduction: str = "element",
) -> torch.Tensor:
    """Eq. 6, Lr = avg ||X - X_hat||^2 over the valid nodes.

    reduction "element": mean over nodes and feature dimensions (PyTorch's MSE; the paper's
    converged value of about 0.089 fits this scale); "node": mean over nodes of the squared
    norm. `valid` (B, M) masks padded slots of the last graph.
    """
    sq = (x - x_hat).pow(2).sum(-1)  # (B, M)
    if valid is None:
        valid = torch.ones_like(sq, dtype=torch.bool)
    per_node = sq[valid]
    scale = x.shape[-1] if reduction == "element" else 1
    return per_node.mean() / scale


def weight_decay_loss(weights: list[torch.Tensor]) -> torch.Tensor:
    """Eq. 7, Lw = 1/2 sum_l (||W_l||_F^2 + ||W-hat_l||_F^2)."""
    return 0.5 * sum(w.pow(2).sum() for w in weights)


def gcn_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    weights: list[torch.Tensor],
    alpha: float,
    beta: float,
    valid: torch.Tensor | None = None,
    reduction: str = "element",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 8, L1 = alpha Lr + beta Lw; returns (L1, Lr, Lw)."""
    lr = reconstruction_loss(x, x_hat, valid, reduction)
    lw = weight_decay_loss(weights)
    return alpha * lr + beta * lw, lr, lw


def binary_targets(fch: torch.Tensor) -> torch.Tensor:
    """Eq. 16, b = 0.5 (sign(fch) + 1), without gradient."""
    return 0.5 * (torch.sign(fch.detach()) + 1.0)


def hash_loss(
    fc: torch.Tensor,
    fch: torch.Tensor,
    g: torch.Tensor,
    mu: float,
    omega: float,
    target: str = "own",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 18, L2 = mu L_fc + omega L_fch; returns (L2, L_fc, L_fch).

    L_fc (Eq. 15) is PyTorch's MSELoss (mean) between fc(x) and g(x). L_fch (Eq. 17) is
    PyTorch's BCELoss (mean) of (fch + 1) / 2, which maps tanh's (-1, 1) into BCE's (0, 1),
    against b: the network's own sign (target "own", Eq. 16 as written) or the sign of
    g(x) (target "node").
    """
    l_fc = F.mse_loss(fc, g)
    b = binary_targets(fch if target == "own" else g)
    l_fch = F.binary_cross_entropy((fch + 1.0) / 2.0, b)
    return mu * l_fc + omega * l_fch, l_fc, l_fch
