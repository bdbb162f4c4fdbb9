"""Checkpoints are data: every loader refuses a `.pt` whose pickle would run code, codes
are computed on the configured device, whatever device the checkpoint was trained on, and a
checkpoint loads after the params model gains a key (it stores its network's own arguments).

A crafted checkpoint carries a ``__reduce__`` payload that creates a marker file when
unpickled. Each loader (``nrdh query`` and the compute_codes_shard stage script run as
dvc.yaml runs them, the GCN's `load_gcn`, and training resume of the GCN and the hash
network) must stop with one ``error:`` line naming the file, and the marker must not appear.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import ROOT, default_params, tiny_digits_pipeline, train_digits_hasher

from nrdh import feature_net, hash_network, io, train
from nrdh.config import as_dict, from_mapping
from nrdh.data import DatasetRef
from nrdh.errors import NRDHError
from nrdh.models import FeatureEncoder, HashNet, SmallCNN
from nrdh.objectives import NRDH
from nrdh.params import FeatureNetConfig, GCNConfig, HasherConfig, load_params
from nrdh.stages import compute_codes_shard, train_gcn

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


class Payload:
    """Unpickles to ``open(marker, "w")``: a file appears if the loader runs pickled code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def write_evil(path: Path, marker: Path, kind: str = "hasher") -> Path:
    """A checkpoint that looks like ours (kind, schema) but whose pickle creates `marker`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"kind": kind, "schema_version": io.CHECKPOINT_SCHEMA_VERSION, "x": Payload(marker)}, path
    )
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder with params.yaml and a one-epoch digits pipeline: features, graphs, GCN,
    node reps, hash network and codes."""
    d = tmp_path_factory.mktemp("ckpt")
    tiny_digits_pipeline(
        d,
        {
            "gcn": {"epochs": 1, "checkpoint_every": 0},
            "hasher": {"epochs": 1, "checkpoint_every": 0, "device": "cpu"},
            "codes": {"device": "cpu"},
        },
    )
    return d


def test_the_payload_runs_code_when_loaded_with_pickle(tmp_path):
    """The crafted file is a real threat: a full unpickle creates the marker."""
    marker = tmp_path / "pwned"
    evil = write_evil(tmp_path / "evil.pt", marker)
    torch.load(evil, weights_only=False)
    assert marker.exists()


def assert_refused(proc: subprocess.CompletedProcess, evil: Path, marker: Path) -> None:
    """Non-zero exit, stderr's last line an 'error:' line naming the file, no marker."""
    assert proc.returncode != 0, proc.stderr
    last = proc.stderr.rstrip().splitlines()[-1]
    assert last.startswith("error: "), proc.stderr
    assert str(evil) in last and "not a valid" in last, last
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


def run(cwd: Path, *cmd: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, cmd)], cwd=cwd, env=ENV, capture_output=True, text=True
    )


def test_nrdh_query_refuses_code_in_a_model(project, tmp_path):
    marker, image = tmp_path / "pwned", tmp_path / "q.png"
    evil = write_evil(tmp_path / "hasher_16.pt", marker)
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(image)
    proc = run(
        project, "-c", "from nrdh.cli import main; main()", "query", image,
        "--model", evil, "--codes", project / "codes.h5",
    )  # fmt: skip
    assert_refused(proc, evil, marker)


def test_compute_codes_shard_refuses_code_in_a_model(project, tmp_path):
    marker = tmp_path / "pwned"
    evil = write_evil(tmp_path / "hasher_16.pt", marker)
    proc = run(
        project, ROOT / "stages" / "compute_codes_shard.py", "--params", "params.yaml",
        "--method", "nrdh", "--dataset", "digits", "--features", "features.h5",
        "--models", tmp_path / "hasher_{bits}.pt", "--shard", "0",
        "--out", tmp_path / "shards" / "0" / "{bits}.h5",
    )  # fmt: skip
    assert_refused(proc, evil, marker)
    assert not (tmp_path / "shards" / "0" / "16.h5").exists()


def assert_raised_once(exc: pytest.ExceptionInfo, evil: Path, marker: Path) -> None:
    """One line naming the file (the entry points print it as 'error: ...'), no marker."""
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{evil}: not a valid ")
    assert not marker.exists()


def test_load_gcn_refuses_code_in_a_model(tmp_path):
    marker = tmp_path / "pwned"
    evil = write_evil(tmp_path / "gcn_16.pt", marker, "gcn")
    with pytest.raises(NRDHError) as exc:
        train_gcn.load_gcn(evil, 16)
    assert_raised_once(exc, evil, marker)


def test_gcn_resume_refuses_code_in_a_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    evil = write_evil(tmp_path / "gcn_16.pt.ckpt", marker)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    nodes = np.arange(4).reshape(1, 2, 2)
    adj = np.broadcast_to(np.eye(2, dtype=np.float32), (1, 2, 2, 2)).copy()
    cfg = dataclasses.replace(default_params().gcn, hidden=(4,), epochs=2)
    with pytest.raises(NRDHError) as exc:
        train.train_gcn(x, nodes, np.ones((1, 2, 2), bool), adj, 2, cfg, 0, evil, "run")
    assert_raised_once(exc, evil, marker)


def test_hasher_resume_refuses_code_in_a_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    evil = write_evil(tmp_path / "hasher_16.pt.ckpt", marker)
    model = HashNet(SmallCNN(1), SmallCNN.out_dim, 4)
    images = [(torch.zeros(1, 8, 8), i) for i in range(4)]
    cfg = dataclasses.replace(default_params().hasher, epochs=2, batch_size=2, device="cpu")
    objective = NRDH(np.zeros((4, 4), np.float32), cfg.mu, cfg.omega, cfg.bce_target)
    with pytest.raises(NRDHError) as exc:
        train.train_hasher(model, images, objective, cfg, 0, evil, "run")
    assert_raised_once(exc, evil, marker)


@pytest.mark.parametrize(("name", "kind"), [("gcn.pt", "gcn"), ("hasher.pt", "hasher")])
def test_real_checkpoints_load_with_weights_only(project, name, kind):
    """Our own checkpoints hold tensors and plain values only: weights_only=True reads them."""
    ckpt = torch.load(project / name, map_location="cpu", weights_only=True)
    assert ckpt["kind"] == kind and ckpt["schema_version"] == io.CHECKPOINT_SCHEMA_VERSION
    assert all(isinstance(v, torch.Tensor) for v in ckpt["state_dict"].values())
    assert io.load_torch(project / name, kind)["provenance"] == ckpt["provenance"]


def test_resume_checkpoint_loads_with_weights_only(project, tmp_path, monkeypatch):
    """A hash-network resume checkpoint (model, Adam state, history) is plain data too."""
    p = load_params(project / "params.yaml")
    p = dataclasses.replace(p, hasher=dataclasses.replace(p.hasher, epochs=2, checkpoint_every=1))
    out = tmp_path / "hasher.pt"
    ckpt = out.with_name(out.name + ".ckpt")
    saved = []
    real_save = io.save_torch

    def keep_resume(obj, path):
        real_save(obj, path)
        if Path(path) == ckpt:
            saved.append(torch.load(ckpt, weights_only=True))

    monkeypatch.setattr(train, "save_torch", keep_resume)
    train_digits_hasher(p, project / "reps.h5", out, tmp_path / "h.json")
    assert [s["epoch"] for s in saved] == [1]
    assert isinstance(saved[0]["history"][0]["loss"], float)


def test_save_torch_refuses_values_that_are_not_plain(tmp_path):
    with pytest.raises(TypeError, match="non-plain value"):
        io.save_torch({"loss": np.float64(1.0)}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_codes_run_on_the_configured_device(project, tmp_path, device):
    """A network trained on "cuda" (as recorded) computes codes where codes.device says."""
    if device == "auto" and torch.cuda.is_available():
        pytest.skip("auto picks the GPU here; the case is a CPU-only machine")
    ckpt = io.load_torch(project / "hasher.pt", "hasher")
    params = ckpt["provenance"]["params"]
    trained = {
        **ckpt["provenance"],
        "params": {**params, "hasher": {**params["hasher"], "device": "cuda"}},
    }
    io.save_torch({**ckpt, "provenance": trained}, tmp_path / "gpu.pt")
    p = load_params(project / "params.yaml")
    out = tmp_path / "0.h5"
    job = compute_codes_shard.CodesJob(
        project / "features.h5",
        "nrdh",
        DatasetRef.of(p, "digits"),
        dataclasses.replace(p.codes, device=device),
    )
    run = compute_codes_shard.CodeRun(16, tmp_path / "gpu.pt", out)
    compute_codes_shard.compute_codes_shard_stage(job, [run], shard=0, count=1)
    with h5py.File(out) as got, h5py.File(project / "codes.h5") as want:
        for split in ("query", "database"):
            assert np.array_equal(got[f"{split}/codes"][()], want[f"{split}/codes"][()])
        assert io.read_attr_json(got, "provenance")["params"]["codes"]["device"] == device


def with_a_new_required_key(monkeypatch: pytest.MonkeyPatch, cls: type) -> type:
    """`cls` with one more key and no default for it, put in its place in every nrdh module
    (as a params model that gains a key would be): a config stored by an older run lacks it."""
    grown = dataclasses.make_dataclass(
        cls.__name__,
        [("new_knob", int, dataclasses.field(kw_only=True))],
        bases=(cls,),
        frozen=True,
    )
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "nrdh" and getattr(module, cls.__name__, None) is cls:
            monkeypatch.setattr(module, cls.__name__, grown)
    return grown


def same_weights(model: torch.nn.Module, path: Path, kind: str) -> bool:
    """Whether `model` holds the state_dict of the checkpoint at `path`, tensor for tensor."""
    saved = io.load_torch(path, kind)["state_dict"]
    got = model.state_dict()
    return got.keys() == saved.keys() and all(torch.equal(got[k], saved[k]) for k in got)


def test_checkpoints_load_after_the_params_model_gains_a_key(project, tmp_path, monkeypatch):
    """Written before gcn, hasher and feature_net gained a key, each checkpoint still loads:
    it rebuilds its network from its own arguments, with the trained weights."""
    p = load_params(project / "params.yaml")  # under today's params model
    encoder = FeatureEncoder(1, p.feature_net.width, p.feature_net.dim)
    feature_net.save_encoder(encoder, None, p.feature_net.threads, {}, tmp_path / "encoder.pt")
    for cls in (GCNConfig, HasherConfig, FeatureNetConfig):
        grown = with_a_new_required_key(monkeypatch, cls)
    with pytest.raises(NRDHError, match="missing key"):  # a config read through the schema
        from_mapping(grown, as_dict(p.feature_net), "feature_net")
    gcn, identity_graph, threads = train_gcn.load_gcn(project / "gcn.pt", 16)
    assert same_weights(gcn, project / "gcn.pt", "gcn")
    assert (identity_graph, threads) == (p.gcn.identity_graph, p.gcn.threads)
    hasher, _, meta = hash_network.load_hasher(project / "hasher.pt")
    assert same_weights(hasher, project / "hasher.pt", "hasher") and meta["bits"] == 16
    loaded, dim, _ = feature_net.load_encoder(tmp_path / "encoder.pt")
    assert same_weights(loaded, tmp_path / "encoder.pt", "feature_net")
    assert dim == p.feature_net.dim


def test_a_checkpoint_of_an_unknown_schema_version_is_refused_naming_the_file(project, tmp_path):
    """A checkpoint of schema 1 (rebuilt through the params model) is re-made, not guessed at."""
    ckpt = io.load_torch(project / "hasher.pt", "hasher")
    old = tmp_path / "hasher_16.pt"
    io.save_torch({**ckpt, "schema_version": 1}, old)
    with pytest.raises(NRDHError) as exc:
        hash_network.load_hasher(old)
    message = str(exc.value)
    assert message.startswith(f"{old}: checkpoint schema_version 1 ") and "re-run" in message
