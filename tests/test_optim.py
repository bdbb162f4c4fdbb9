"""nrdh.optim: the same updates as torch.optim, bit for bit, and resuming from its state."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from nrdh.errors import NRDHError
from nrdh.optim import SGD, Adam

SETTINGS = [
    (Adam, torch.optim.Adam, {"lr": 0.01}),
    (Adam, torch.optim.Adam, {"lr": 0.003, "weight_decay": 0.01}),
    (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3}),
    (SGD, torch.optim.SGD, {"lr": 0.05}),
]


def net() -> nn.Module:
    """A conv, a linear and a frozen bias: every kind of parameter the stages train."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    model[2].bias.requires_grad_(False)  # no gradient: skipped, and no state kept
    return model


def train(model: nn.Module, opt, steps: range) -> None:
    for step in steps:
        g = torch.Generator().manual_seed(step)
        x, y = torch.randn(16, 1, 8, 8, generator=g), torch.randn(16, 5, generator=g)
        loss = (model(x) - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), SETTINGS)
def test_updates_are_torch_optims_bit_for_bit(ours, theirs, kwargs):
    a, b = net(), net()
    train(a, ours(a.parameters(), **kwargs), range(30))
    train(b, theirs(b.parameters(), **kwargs), range(30))
    assert same(a, b)
    assert not torch.equal(a[2].weight, net()[2].weight)  # it did train
    assert torch.equal(a[2].bias, net()[2].bias)  # the frozen bias did not move


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), SETTINGS[1:3])
def test_resume_from_our_state_or_torch_optims(ours, theirs, kwargs):
    """Resuming from our state_dict, or from one torch.optim wrote (resume checkpoints made
    before nrdh.optim), continues exactly as the uninterrupted run."""
    whole = net()
    train(whole, ours(whole.parameters(), **kwargs), range(20))
    for first in (ours, theirs):
        model = net()
        opt = first(model.parameters(), **kwargs)
        train(model, opt, range(10))
        state = opt.state_dict()
        assert sorted(state["state"]) == [0, 1, 2]  # the frozen bias (index 3) has none
        resumed = ours(model.parameters(), **kwargs)
        resumed.load_state_dict(state)
        train(model, resumed, range(10, 20))
        assert same(model, whole)


def test_state_of_other_parameters_is_refused():
    opt = Adam(net().parameters())
    with pytest.raises(NRDHError, match="expected one group of 4 parameters"):
        opt.load_state_dict(Adam(nn.Linear(2, 2).parameters()).state_dict())


def test_training_does_not_import_torch_dynamo():
    """The reason for the module: torch.optim pulls in torch._dynamo (about 1 s a process)."""
    code = (
        "import sys, torch\n"
        "from nrdh.optim import Adam\n"
        "m = torch.nn.Linear(3, 1)\n"
        "opt = Adam(m.parameters())\n"
        "m(torch.ones(2, 3)).sum().backward()\n"
        "opt.step()\n"
        "print('torch._dynamo' in sys.modules)\n"
        "torch.optim.Adam(m.parameters())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
