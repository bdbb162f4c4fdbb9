"""A queued sweep of three rho values through `dvc exp run --queue` and `dvc queue start`."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from conftest import make_project, run, tool


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
                metrics = data["metrics"]["metrics/eval/digits/nrdh/eval_16.json"]["data"]
                found[e["name"]] = (rho, metrics["map_all"])
    assert {name: rho for name, (rho, _) in found.items()} == {
        "rho0.2": 0.2,
        "rho0.4": 0.4,
        "rho0.6": 0.6,
    }
    assert all(0.0 < m <= 1.0 for _, m in found.values())
