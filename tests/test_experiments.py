"""A queued sweep of three rho values through `dvc exp run --queue` and `dvc queue start`.

Each experiment's graphs must be the ones its rho builds: the adjacency in its graphs.h5
equals U' recomputed from the features with that rho, and the mean degree falls as rho
rises. A sweep that ignored rho (three identical graphs) fails both checks.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import make_project, run, tool

from nrdh.config import from_mapping
from nrdh.data import DatasetRef
from nrdh.features_file import read_features
from nrdh.params import GraphConfig
from nrdh.stages.build_graphs import adjacency


def graph_degree_for_rho(features: Path, graphs: Path, graph_params: dict, rho: float) -> float:
    """Mean off-diagonal degree of graphs.h5 after checking that its adjacency is U' of its
    graphs' nodes rebuilt from `features` with threshold `rho`."""
    cfg = from_mapping(GraphConfig, {**graph_params, "rho": rho}, "graph")
    feats = read_features(features)
    with h5py.File(graphs) as f:
        train, nodes = f["train"][()], f["nodes"][0]
        valid, adj = f["valid"][0].astype(bool), f["adjacency"][0]
        recorded = float(f.attrs["mean_degree"])
    x = np.asarray(feats.features[()], np.float32)[train[nodes]]
    np.testing.assert_allclose(adj, adjacency(x, cfg), atol=1e-6)
    offdiag = adj * (1 - np.eye(adj.shape[-1], dtype=adj.dtype))
    degree = float((offdiag > 0).sum(-1)[valid].mean())
    assert degree == pytest.approx(recorded)
    return degree


def assert_graphs_follow_rho(degrees: dict[float, float]) -> None:
    """Mean degrees strictly decreasing in rho: a higher threshold keeps fewer edges."""
    by_rho = [degrees[r] for r in sorted(degrees)]
    assert all(a > b for a, b in itertools.pairwise(by_rho)), degrees


def test_graph_checks_catch_an_ignored_rho(tmp_path, tiny_params):
    """The sweep's checks on graphs built directly: they pass for graphs of each rho and
    fail for three graphs built with one rho (a sweep that ignored it)."""
    from nrdh.params import load_params
    from nrdh.stages.build_graphs import build_graphs_stage
    from nrdh.stages.extract_features_shard import extract_features_stage

    params = yaml.safe_load(tiny_params.read_text())
    p = load_params(tiny_params)
    extract_features_stage(
        out=tmp_path / "features.h5",
        data=DatasetRef.of(p, "digits"),
        f_cfg=p.features,
    )
    rhos = (0.2, 0.4, 0.6)
    for rho in rhos:
        build_graphs_stage(
            features_path=tmp_path / "features.h5",
            out=tmp_path / f"g{rho}.h5",
            cfg=dataclasses.replace(p.graph, rho=rho),
            seed=p.base.seed,
        )

    def check(rho: float, built: float) -> float:
        """The checks with `rho` on the graphs built with `built`."""
        features, graphs = tmp_path / "features.h5", tmp_path / f"g{built}.h5"
        return graph_degree_for_rho(features, graphs, params["graph"], rho)

    assert_graphs_follow_rho({rho: check(rho, rho) for rho in rhos})
    with pytest.raises(AssertionError):  # rho ignored: every experiment got rho 0.4's graphs
        check(0.2, 0.4)
    with pytest.raises(AssertionError):
        assert_graphs_follow_rho({rho: check(0.4, 0.4) for rho in rhos})


@pytest.mark.slow
def test_queued_rho_sweep_lists_three_experiments_with_map(tmp_path, tiny_params):
    params = yaml.safe_load(tiny_params.read_text())
    params["base"].update(datasets=["digits"], methods=["nrdh"])
    small = tmp_path / "params.yaml"
    small.write_text(yaml.safe_dump(params))
    project = make_project(tmp_path / "p", small)
    for rho in (0.2, 0.4, 0.6):
        run(
            [tool("dvc"), "exp", "run", "--queue", "-n", f"rho{rho}", "-S", f"graph.rho={rho}"],
            project,
        )
    run([tool("dvc"), "queue", "start"], project)
    deadline = time.time() + 600
    while time.time() < deadline:
        status = run([tool("dvc"), "queue", "status"], project).stdout
        if status.count("Success") == 3 or "Failed" in status:
            break
        time.sleep(5)
    assert status.count("Success") == 3, status

    shown = json.loads(run([tool("dvc"), "exp", "show", "--json"], project).stdout)
    found = {}
    for rev in shown:
        for exp in rev.get("experiments") or []:
            for e in exp["revs"]:
                data = e["data"]
                rho = data["params"]["params.yaml"]["data"]["graph"]["rho"]
                headline = data["metrics"]["metrics/headline.json"]["data"]
                found[e["name"]] = (rho, headline["digits"]["nrdh"]["16"]["map_all"])
    assert {name: rho for name, (rho, _) in found.items()} == {
        "rho0.2": 0.2,
        "rho0.4": 0.4,
        "rho0.6": 0.6,
    }
    assert all(0.0 < m <= 1.0 for _, m in found.values())

    degrees = {}
    for name, (rho, _) in found.items():
        run([tool("dvc"), "exp", "apply", name], project)
        degrees[rho] = graph_degree_for_rho(
            project / "data/digits/features.h5",
            project / "data/digits/nrdh/seed0/graphs.h5",
            params["graph"],
            rho,
        )
    assert_graphs_follow_rho(degrees)
