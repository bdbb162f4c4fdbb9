"""params.yaml validation: unknown keys, bad types, ranges, invalid YAML."""

import re

import pytest

from nrdh.config import from_mapping, load_params
from nrdh.errors import NRDHError
from nrdh.graph import GraphConfig
from nrdh.train import GCNConfig, HasherConfig


def test_defaults_are_the_papers():
    g, c, h = GraphConfig(), GCNConfig(), HasherConfig()
    assert (g.M, g.rho, g.p, g.distance) == (10, 0.4, 0.8, "cosine")
    assert (c.alpha, c.beta, c.hidden) == (0.999, 0.001, (64, 64))
    assert (h.mu, h.omega) == (0.8, 0.2)


def test_unknown_key_is_named():
    with pytest.raises(NRDHError, match=re.escape("graph: unknown key(s) ['rhoo']")):
        from_mapping(GraphConfig, {"rhoo": 0.5}, "graph")


def test_wrong_type_and_literal_are_named():
    with pytest.raises(NRDHError, match=re.escape("graph.M: expected an integer, got '10'")):
        from_mapping(GraphConfig, {"M": "10"}, "graph")
    with pytest.raises(
        NRDHError, match=re.escape("graph.distance: expected one of ['cosine', 'euclidean']")
    ):
        from_mapping(GraphConfig, {"distance": "manhattan"}, "graph")


def test_out_of_range_is_named():
    with pytest.raises(NRDHError, match=re.escape("gcn.alpha: 1.5 is out of range")):
        from_mapping(GCNConfig, {"alpha": 1.5}, "gcn")


def test_lists_become_tuples_and_ints_floats():
    cfg = from_mapping(GCNConfig, {"hidden": [32, 16], "lr": 1}, "gcn")
    assert cfg.hidden == (32, 16) and cfg.lr == 1.0


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("graph: {rho: [0.4\n")
    with pytest.raises(NRDHError, match=re.escape("params.yaml: not valid YAML")):
        load_params(bad)
    with pytest.raises(NRDHError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
