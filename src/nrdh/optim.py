"""Adam and SGD with momentum, updating parameters op for op as torch.optim does on the CPU.

torch.optim imports torch._dynamo (about 1 s) when a process builds its first optimiser,
and each training stage is its own process (12 in the default run). These two run the
arithmetic of torch.optim's per-tensor path and read and write its per-parameter state, so
trained weights are the same bytes and older resume checkpoints still resume
(tests/test_optim.py checks both).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from nrdh.errors import NRDHError


class Optimizer:
    """What the training loops use of torch.optim.Optimizer: one parameter group."""

    def __init__(self, params: Iterable[torch.Tensor], **defaults: Any) -> None:
        self.params = list(params)
        self.defaults = defaults
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Drop the gradients (torch.optim's default, set_to_none=True)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self.update(p, p.grad, state)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        """Update `p` in place from `grad`, keeping per-parameter tensors in `state`."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """torch.optim's layout: per-parameter state keyed by index, the group's settings."""
        return {
            "state": {i: dict(s) for i, s in enumerate(self.state) if s},
            "param_groups": [{**self.defaults, "params": list(range(len(self.params)))}],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from `state_dict` (ours or torch.optim's for the same parameters)."""
        groups = state_dict.get("param_groups", [])
        if len(groups) != 1 or len(groups[0].get("params", [])) != len(self.params):
            raise NRDHError(f"optimizer state: expected one group of {len(self.params)} parameters")
        saved = state_dict.get("state", {})
        self.state = [
            {
                key: value if key == "step" else value.to(p.device, p.dtype)
                for key, value in saved.get(i, {}).items()
            }
            for i, p in enumerate(self.params)
        ]


class Adam(Optimizer):
    """Adam (Kingma & Ba) with L2 weight decay added to the gradient, as torch.optim.Adam."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        """One Adam step of `p`."""
        lr, (beta1, beta2) = self.defaults["lr"], self.defaults["betas"]
        if not state:
            state["step"] = torch.tensor(0.0)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        if self.defaults["weight_decay"] != 0:
            grad = grad.add(p, alpha=self.defaults["weight_decay"])
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = state["step"].item()
        denom = (state["exp_avg_sq"].sqrt() / (1 - beta2**step) ** 0.5).add_(self.defaults["eps"])
        p.addcdiv_(state["exp_avg"], denom, value=-(lr / (1 - beta1**step)))


class SGD(Optimizer):
    """SGD with heavy-ball momentum and L2 weight decay, as torch.optim.SGD (no dampening)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        """One SGD step of `p`."""
        if self.defaults["weight_decay"] != 0:
            grad = grad.add(p, alpha=self.defaults["weight_decay"])
        if self.defaults["momentum"] != 0:
            if "momentum_buffer" in state:
                grad = state["momentum_buffer"].mul_(self.defaults["momentum"]).add_(grad)
            else:
                grad = state["momentum_buffer"] = torch.clone(grad).detach()
        p.add_(grad, alpha=-self.defaults["lr"])
