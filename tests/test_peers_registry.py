"""The peer registry (nrdh.peers): built-ins registered once, torch-free params, own peers.

A peer of one's own is a module outside src/nrdh and one params block naming its class;
the last test trains such a toy peer through the DAG, as a user would.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import ROOT, make_project, overlay, run, tool

from nrdh.errors import NRDHError
from nrdh.params import parse
from nrdh.peers import PEERS

# A toy peer: tanh codes regressed onto the signs of a fixed random projection of the
# features. Everything a peer needs: its config (key = its name) and its objective class.
TOY = """
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from nrdh.objectives import FeatureObjective
from nrdh.peers import PeerConfig


@dataclass(frozen=True)
class ToyConfig(PeerConfig):
    key: ClassVar[str] = "toy"
    seed: int


class Toy(FeatureObjective):
    config = ToyConfig

    def __call__(self, outputs, idx):
        _, h = outputs[0]
        x = self.batch_features(idx, h)
        gen = torch.Generator().manual_seed(self.cfg.seed)
        target = torch.sign(x @ torch.randn(x.shape[1], h.shape[1], generator=gen).to(x))
        loss = F.mse_loss(h, target)
        return loss, {"mse": loss}
"""
TOY_BLOCK = {"objective": "toy_peer:Toy", "seed": 3, "lr": 0.0, "epochs": 0}


@pytest.fixture
def toy_module(tmp_path, monkeypatch) -> str:
    """The toy peer's module, importable as toy_peer for this test only."""
    (tmp_path / "toy_peer.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_peer", raising=False)
    return "toy_peer"


def test_registry_lists_the_five_built_in_peers():
    assert sorted(PEERS) == ["bihalf", "cibhash", "deepbit", "greedyhash", "ssdh"]
    assert all(peer.name == name == peer.config.key for name, peer in PEERS.items())


def test_each_built_in_config_maps_to_its_objective():
    from nrdh.objectives import PeerObjective

    for name, peer in PEERS.items():
        cls = peer.objective_class()
        assert issubclass(cls, PeerObjective) and cls.config is peer.config, name
        assert cls.__name__.lower() == name


def test_loading_params_with_every_peer_imports_no_torch():
    code = (
        "import sys; from nrdh.params import load_params; "
        "p = load_params('params.yaml'); assert len(p.peers) == 5; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"peers": {"dsh": {}}}, r"peers\.dsh: unknown peer; known peers are \['bihalf'"),
        ({"peers": {"bihalf": [6.0]}}, r"peers\.bihalf: expected a mapping"),
        ({"base": {"peers": ["dsh"]}}, r"base\.peers\[0\]: 'dsh' is not a known peer; known"),
        (
            {"peers": {"ssdh": {"objective": "toy_peer:Toy"}}},
            r"peers\.ssdh\.objective: 'ssdh' is a built-in peer",
        ),
        ({"peers": {"toy": {"objective": "toy_peer"}}}, r"expected 'module:Class'"),
        ({"peers": {"toy": {"objective": "no_such_mod:Toy"}}}, r"cannot import 'no_such_mod'"),
        ({"peers": {"toy": {"objective": "toy_peer:Nope"}}}, r"has no 'Nope'"),
        ({"peers": {"other": {"objective": "toy_peer:Toy"}}}, r"has key 'toy'"),
        ({"peers": {"toy": {**TOY_BLOCK, "sed": 3}}}, r"peers\.toy: unknown key\(s\) \['sed'\]"),
    ],
)
def test_a_bad_peer_is_named_at_params_load(toy_module, changes, message):
    with pytest.raises(NRDHError, match=message):
        parse(overlay(changes))


def test_a_peer_of_ones_own_is_its_class_and_one_params_block(toy_module):
    from nrdh.objectives import build_objective

    p = parse(overlay({"base": {"peers": ["toy"]}, "peers": {"toy": TOY_BLOCK}}))
    peer, cfg = p.registry["toy"], p.peers["toy"]
    assert peer.objective == "toy_peer:Toy" and type(cfg).__name__ == "ToyConfig"
    assert cfg.seed == 3 and set(p.registry) == {*PEERS, "toy"}
    x = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
    obj = build_objective(peer, cfg, x, 4, np.arange(8))
    import torch

    loss, terms = obj([(torch.zeros(8, 4), torch.zeros(8, 4))], torch.arange(8))
    assert loss.item() == pytest.approx(1.0) and set(terms) == {"mse"}


def test_dag_trains_scores_a_peer_of_ones_own(tmp_path):
    tiny = yaml.safe_load((ROOT / "tests" / "data" / "params_tiny.yaml").read_text())
    changes = {
        **tiny,
        "base": {**tiny["base"], "datasets": ["digits"], "peers": ["toy"]},
        "peers": {"toy": TOY_BLOCK},
    }
    changes["base"]["methods"] = [*tiny["base"]["methods"], "toy"]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(overlay(changes), sort_keys=False))
    project = make_project(tmp_path / "p", params)
    (project / "src" / "toy_peer.py").write_text(TOY)  # on the stages' path, beside nrdh
    out = run([tool("dvc"), "repro", "evaluate@digits-toy-0"], project).stdout
    assert {"train_peer@digits-toy-0-16", "peer_codes@digits-toy-0"} <= set(
        line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")
    )
    metrics = json.loads((project / "metrics/eval/digits/toy/seed0/eval_16.json").read_text())
    assert metrics["method"] == "toy" and metrics["bits"] == 16
    assert math.isfinite(metrics["map_all"]) and 0.0 < metrics["map_all"] <= 1.0
