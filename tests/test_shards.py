"""Sharded stages: shard ranges, merges byte-identical to unsharded runs, per-job inputs."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import ROOT, overlay, run, tool

from nrdh import features_file, io, shards
from nrdh.codes_file import merge_codes, read_codes
from nrdh.data import DatasetRef
from nrdh.engines.rules import load_rules
from nrdh.errors import NRDHError
from nrdh.features_file import read_features
from nrdh.hash_network import HasherJob
from nrdh.params import Params, parse
from nrdh.stages import build_graphs, compute_codes_shard, extract_features_shard, train_hasher


@pytest.fixture(scope="module")
def params() -> Params:
    """The tiny params with small batches (several per shard) and a one-epoch hash network."""
    tiny = yaml.safe_load((ROOT / "tests" / "data" / "params_tiny.yaml").read_text())
    tiny["features"]["batch_size"] = 64
    tiny["hasher"] |= {"epochs": 1, "batch_size": 8}
    tiny["codes"] |= {"batch_size": 32}  # several batches per shard
    return parse(overlay(tiny))


def extract(p: Params, out: Path, shard: int, count: int) -> None:
    """Features of one shard of the mosaics."""
    extract_features_shard.extract_shard_stage(
        out=out,
        data=DatasetRef.of(p, "digits_mosaic"),
        f_cfg=p.features,
        shard=shard,
        count=count,
    )


def codes_of(p: Params, features: Path, model: Path, out: Path, shard: int | None = None) -> None:
    """Codes of the mosaics: unsharded (`shard` None) or shard `shard` of 3."""
    job = compute_codes_shard.CodesJob(features, "nrdh", DatasetRef.of(p, "digits_mosaic"), p.codes)
    if shard is None:
        compute_codes_shard.compute_codes_stage(job, model_path=model, out=out, bits=16)
    else:
        run = compute_codes_shard.CodeRun(16, model, out)
        compute_codes_shard.compute_codes_shard_stage(job, [run], shard=shard, count=3)


@pytest.fixture(scope="module")
def features(tmp_path_factory, params) -> Path:
    """Unsharded features of 300 mosaics (16 x 16 pixels; 30 queries)."""
    out = tmp_path_factory.mktemp("feat") / "features.h5"
    extract_features_shard.extract_features_stage(
        out=out,
        data=DatasetRef.of(params, "digits_mosaic"),
        f_cfg=params.features,
    )
    return out


def test_shard_rows_tile_the_rows_on_batch_boundaries() -> None:
    # 10 rows in batches of 3 -> 4 batches; 3 shards take 1, 1 and 2 batches (the last short)
    assert [shards.shard_rows(10, i, 3, 3) for i in range(3)] == [(0, 3), (3, 6), (6, 10)]
    # more shards than batches: some shards are empty, the tiling stays complete
    assert [shards.shard_rows(5, i, 3, 4) for i in range(3)] == [(0, 0), (0, 4), (4, 5)]
    assert shards.shard_rows(7, 0, 1, 256) == (0, 7)
    with pytest.raises(NRDHError, match=r"shard 3: out of range, expected 0 to 2"):
        shards.shard_rows(10, 3, 3, 3)


@pytest.mark.parametrize("ids", [[], [1], [0, 2]])
def test_shard_ids_must_count_from_zero(ids: list[int]) -> None:
    with pytest.raises(NRDHError, match=r"shards.ids: expected 0, 1, \.\.\., N-1"):
        parse(overlay({"shards": {"ids": ids}}))


def test_sharded_features_are_byte_identical(tmp_path, params, features) -> None:
    folder = tmp_path / "features_shards"
    for i in range(3):  # 5 batches of 64 rows: [0, 64), [64, 192), [192, 300)
        extract(params, folder / f"{i}.h5", i, 3)
    with h5py.File(folder / "1.h5") as f:
        assert (f.attrs["start"], f.attrs["stop"]) == (64, 192)
    features_file.merge_features(shards.shard_paths(folder, 3), tmp_path / "features.h5")
    assert (tmp_path / "features.h5").read_bytes() == features.read_bytes()
    assert read_features(features).features.shape == (300, 256)


def test_merge_refuses_a_shard_of_another_count(tmp_path, params) -> None:
    folder = tmp_path / "s"
    extract(params, folder / "0.h5", 0, 2)
    extract(params, folder / "1.h5", 1, 3)  # stale
    with pytest.raises(NRDHError, match=r"1.h5: shard 1 of 3, expected shard 1 of 2"):
        features_file.merge_features(shards.shard_paths(folder, 2), tmp_path / "f.h5")


def test_sharded_codes_are_byte_identical(tmp_path, params, features) -> None:
    reps = tmp_path / "reps.h5"
    train = read_features(features).split["train"]
    g = np.random.default_rng(0).standard_normal((len(train), 16)).astype(np.float32)
    with io.create_h5(reps, "node_reps", io.provenance({})) as f:
        f.create_dataset("train", data=train)
        f.create_dataset("reps", data=g)
    model = tmp_path / "hasher.pt"
    job = HasherJob(
        out=model,
        history_out=tmp_path / "h.json",
        data=DatasetRef.of(params, "digits_mosaic"),
        cfg=params.hasher,
        bits=16,
        seed=params.base.seed,
    )
    train_hasher.train_hasher_stage(reps_path=reps, job=job)
    codes_of(params, features, model, tmp_path / "one.h5")
    folder = tmp_path / "codes_shards"
    for i in range(3):  # batches of 32: the 30 queries in shard 2, 270 database rows in 3
        codes_of(params, features, model, folder / f"{i}.h5", i)
    with h5py.File(folder / "0.h5") as f:
        assert f["query/codes"].shape == (0, 2) and f["database/codes"].shape == (96, 2)
    merge_codes(shards.shard_paths(folder, 3), features, tmp_path / "three.h5", 16)
    with pytest.raises(NRDHError, match=r"0.h5: holds 16-bit .* expected 32 bits"):
        merge_codes(shards.shard_paths(folder, 3), features, tmp_path / "x.h5", 32)
    assert (tmp_path / "three.h5").read_bytes() == (tmp_path / "one.h5").read_bytes()
    c = read_codes(tmp_path / "three.h5")
    assert c["bits"] == 16 and c["database"]["codes"].shape == (270, 2)
    assert c["query"]["ids"][0] == read_features(features).ids[c["query"]["index"][0]]


def test_merge_codes_refuses_other_features(tmp_path, params, features) -> None:
    other = tmp_path / "other.h5"
    other.write_bytes(features.read_bytes())
    with h5py.File(other, "r+") as f:
        f.attrs["note"] = "edited"  # same arrays, other bytes
    folder = tmp_path / "s"
    prov = io.provenance({}, {"features": features})
    with io.create_h5(folder / "0.h5", "codes_shard", prov) as f:
        f.attrs.update({"shard": 0, "shards": 1, "bits": 16, "method": "nrdh"})
    with pytest.raises(
        NRDHError, match=r"other.h5: not the features file the shards .*0.h5 ... were computed"
    ):
        merge_codes(shards.shard_paths(folder, 1), other, tmp_path / "c.h5", 16)


def test_graphs_built_in_blocks_match_one_block(tmp_path, params, features, monkeypatch) -> None:
    for name in ("one", "many"):
        if name == "many":
            monkeypatch.setattr(shards, "BLOCK_BYTES", 4 * 256 * 25)  # 25 rows: 2 graphs a block
        build_graphs.build_graphs_stage(
            features_path=features, out=tmp_path / f"{name}.h5", cfg=params.graph, seed=0
        )
    with h5py.File(tmp_path / "one.h5") as a, h5py.File(tmp_path / "many.h5") as b:
        assert a["adjacency"].shape == (1, 27, 10, 10)
        for key in ("train", "nodes", "valid", "adjacency"):
            assert np.array_equal(a[key][()], b[key][()]), key
        for key in ("isolated_fraction", "mean_degree"):
            assert a.attrs[key] == b.attrs[key], key


def test_merge_jobs_wait_for_their_own_shards(tmp_path) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["shards"] = {"ids": [0, 1, 2]}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for name in ("dvc.yaml", "workflow", "stages", "src"):
        (tmp_path / name).symlink_to(ROOT / name)
    run([tool("dvc"), "init", "--no-scm", "-q"], tmp_path)
    rules = {r.name: r for r in load_rules(tmp_path)}
    merge = rules["extract_features"].job_inputs({"dataset": "digits"})
    assert [p for p in merge if "features_shards/" in p] == [
        f"data/digits/features_shards/{i}.h5" for i in range(3)
    ]
    job = {"dataset": "digits", "method": "nrdh", "seed": "0"}
    codes = rules["compute_codes"].job_inputs(job)
    assert [p for p in codes if "/shards/" in p] == [
        f"codes/digits/shards/nrdh/seed0/{i}" for i in range(3)
    ]
    assert "data/digits/features.h5" in codes


def test_shard_and_code_file_names_of_the_dag() -> None:
    """Feature shards are <folder>/<i>.h5; a code stage fills dvc.yaml's path templates for
    each code length of base.bits."""
    assert shards.shard_paths("f", 2) == [Path("f/0.h5"), Path("f/1.h5")]
    assert compute_codes_shard.code_runs("m/h_{bits}.pt", "c/{bits}.h5", (16, 64)) == [
        (16, Path("m/h_16.pt"), Path("c/16.h5")),
        (64, Path("m/h_64.pt"), Path("c/64.h5")),
    ]
