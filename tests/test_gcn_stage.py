"""train_gcn: one job writes every code length of base.bits, each as a job of its own would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import digits_workdir

from nrdh.errors import NRDHError
from nrdh.params import load_params
from nrdh.stages import build_graphs, train_gcn

TINY = {
    "base": {"datasets": ["digits"], "bits": [8, 16], "methods": ["nrdh"]},
    "datasets": {"digits": {"source": "digits", "query_per_class": 5}},
    "features": {"backbone": "pixels"},
    "gcn": {"epochs": 3, "graphs_per_step": 32, "checkpoint_every": 0},
    "grid": {"bits": 16},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("gcn")
    p = digits_workdir(d, TINY)
    build_graphs.build_graphs_stage(
        features_path=d / "features.h5", out=d / "graphs.h5", cfg=p.graph, seed=0
    )
    return d


def train(d: Path, folder: str, bits: list[int]) -> dict[int, train_gcn.GCNFiles]:
    """Run the stage's entry with base.bits = `bits`, its files in d/folder; by length."""
    p = load_params(d / "params.yaml")
    args = train_gcn.Args(
        variant="nrdh",
        seed=0,
        features=d / "features.h5",
        graphs=d / "graphs.h5",
        out=f"{d}/{folder}/gcn_{{bits}}.pt",
        history=f"{d}/{folder}/gcn_{{bits}}.json",
        reps=f"{d}/{folder}/node_reps_{{bits}}.h5",
    )
    train_gcn.run(dataclasses.replace(p, base=dataclasses.replace(p.base, bits=tuple(bits))), args)
    return {f.bits: f for f in train_gcn.gcn_files(args, bits)}


def test_each_length_has_the_bytes_of_a_job_of_its_own(workdir):
    both = train(workdir, "both", [8, 16])
    alone = train(workdir, "alone", [16])
    model_both, _, _ = train_gcn.load_gcn(both[16].out, 16)
    model_alone, _, _ = train_gcn.load_gcn(alone[16].out, 16)
    for (name, a), (_, b) in zip(
        model_both.state_dict().items(), model_alone.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert both[16].history.read_bytes() == alone[16].history.read_bytes()
    with h5py.File(both[16].reps) as f, h5py.File(alone[16].reps) as g:
        assert np.array_equal(f["reps"][()], g["reps"][()])
    with h5py.File(both[8].reps) as f:  # the other length: its own width
        assert f["reps"].shape[1] == 8 and f.attrs["bits"] == 8


def test_a_template_without_its_bits_field_is_refused(workdir):
    args = train_gcn.Args(
        "nrdh", 0, workdir / "features.h5", workdir / "graphs.h5", "g.pt", "h", "r"
    )
    with pytest.raises(NRDHError, match=r"g.pt: a path template with fields \[\], expected"):
        train_gcn.gcn_files(args, load_params(workdir / "params.yaml").base.bits)
