"""A deep peer trains through the same stage machinery as NRDH and yields codes the same way."""

from __future__ import annotations

import dataclasses
import json

import h5py
import numpy as np
import pytest
from conftest import tiny_digits_pipeline

from nrdh import io
from nrdh.config import as_dict
from nrdh.data import DatasetRef
from nrdh.hash_network import HasherJob
from nrdh.params import load_params
from nrdh.peers import hasher_config
from nrdh.stages import compute_codes_shard, train_peer


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("peer")
    tiny_digits_pipeline(d, {"hasher": {"epochs": 1, "checkpoint_every": 0, "device": "cpu"}})
    return d


@pytest.mark.parametrize("peer", ["bihalf", "deepbit"])
def test_peer_checkpoint_is_a_hasher_checkpoint_with_its_own_provenance(project, tmp_path, peer):
    p = load_params(project / "params.yaml")
    cfg = dataclasses.replace(p.peers[peer], epochs=1)
    out = tmp_path / "hasher_16.pt"
    job = HasherJob(
        out=out,
        history_out=tmp_path / "h.json",
        data=DatasetRef("digits", p.dataset("digits"), 0),
        cfg=hasher_config(p.hasher, cfg),
        bits=16,
        seed=3,
    )
    train_peer.train_peer_stage(
        features_path=project / "features.h5", job=job, peer=p.registry[peer], peer_cfg=cfg
    )
    ckpt = io.load_torch(out, "hasher")
    assert ckpt["arch"]["bits"] == 16 and ckpt["provenance"]["params"]["hasher"]["epochs"] == 1
    assert ckpt["provenance"]["params"][f"peers.{peer}"] == as_dict(cfg)
    assert ckpt["provenance"]["params"]["seed"] == 3
    history = json.loads((tmp_path / "h.json").read_text())
    assert [h["epoch"] for h in history] == [1] and np.isfinite(history[0]["loss"])

    codes = tmp_path / "codes.h5"
    job = compute_codes_shard.CodesJob(
        project / "features.h5", peer, DatasetRef("digits", p.dataset("digits"), 0), p.codes
    )
    compute_codes_shard.compute_codes_stage(job, model_path=out, out=codes, bits=16)
    with h5py.File(codes) as got, h5py.File(project / "codes.h5") as nrdh:
        assert got.attrs["method"] == peer
        for split in ("query", "database"):
            assert got[f"{split}/codes"].shape == nrdh[f"{split}/codes"].shape
            assert np.array_equal(got[f"{split}/index"][()], nrdh[f"{split}/index"][()])
        # a different objective and seed: not NRDH's codes
        assert not np.array_equal(got["database/codes"][()], nrdh["database/codes"][()])
