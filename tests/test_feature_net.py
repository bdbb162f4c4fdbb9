"""The self-supervised feature network: its stage's artifacts and schema, byte-identical
reruns on CPU, no labels read, and the learned backbone's features.h5."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import default_params

from nrdh.data import DatasetRef, ImageSet, one_hot
from nrdh.errors import NRDHError
from nrdh.feature_net import load_encoder, network_file
from nrdh.features_file import read_features
from nrdh.io import read_torch
from nrdh.models import FeatureEncoder
from nrdh.params import DigitsData, FeatureNetConfig
from nrdh.stages import train_feature_net as stage
from nrdh.stages.extract_features_shard import extract_features_stage

P = default_params()
TINY = replace(P.feature_net, epochs=2, batch_size=16, width=4, dim=8, proj_dim=4)
SIMCLR = replace(P.features, backbone="simclr", device="cpu")


def blobs(labels: np.ndarray) -> ImageSet:
    """40 random 8x8 greyscale images labelled `labels`; the first 30 are the train split."""
    pixels = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
    train, query = np.arange(30), np.arange(30, 40)
    return ImageSet(
        ids=np.array([f"blob/{i}" for i in range(40)]),
        labels=one_hot(labels, 4),
        class_names=list("abcd"),
        split={"train": train, "database": train, "query": query},
        pixels=pixels,
    )


def run_stages(
    d: Path, images: ImageSet, monkeypatch: pytest.MonkeyPatch, cfg: FeatureNetConfig = TINY
) -> tuple[Path, Path]:
    """train_feature_net with `cfg`, then the features stage, on `images` (the dataset
    loader returns them): (network folder, features.h5)."""
    monkeypatch.setattr("nrdh.data.load_dataset", lambda cfg, seed: images)
    ds = DigitsData(source="digits")
    net, feats = d / "net", d / "features.h5"
    stage.train_feature_net_stage(out=net, data=DatasetRef("blobs", ds, 0), f_cfg=SIMCLR, cfg=cfg)
    extract_features_stage(out=feats, data=DatasetRef("blobs", ds, 0), f_cfg=SIMCLR, net_dir=net)
    return net, feats


def test_checkpoint_and_features_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images = blobs(np.arange(40) % 4)
    net, path = run_stages(tmp_path, images, monkeypatch)
    assert sorted(p.name for p in net.iterdir()) == ["encoder.pt", "history.json"]
    ckpt = read_torch(net / "encoder.pt", "feature_net")  # weights_only=True
    assert ckpt["kind"] == "feature_net" and ckpt["arch"] == {
        "in_channels": 1,
        "width": 4,
        "dim": 8,
    }
    assert ckpt["provenance"]["params"]["feature_net"]["epochs"] == 2
    history = json.loads((net / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and all(h["loss"] > 0 for h in history)
    feats = read_features(path)
    assert feats.features.shape == (40, 8) and feats.features.dtype == np.float32
    assert feats.attrs["backbone"] == "simclr" and feats.attrs["z"] == 8
    assert feats.attrs["weights"] == "" and feats.attrs["num_classes"] == 4
    assert feats.attrs["provenance"]["inputs"]["feature_net"]["path"] == str(net / "encoder.pt")
    assert feats.split["train"].tolist() == list(range(30))
    # the features are the encoder's pooled output h (before the projection head),
    # standardised with the train split's statistics
    model, dim, threads = load_encoder(net / "encoder.pt")
    encoder, standardise = model
    assert isinstance(encoder, FeatureEncoder) and (dim, threads) == (TINY.dim, TINY.threads)
    x = torch.from_numpy(images.pixels).float().div(255).sub(0.5).div(0.5)[:, None]
    with torch.no_grad():
        h = encoder(x).double().numpy()  # (40, 8)
    assert (h >= 0).all()  # pooled ReLU outputs: one orthant
    mean, std = h[:30].mean(0), h[:30].std(0)
    assert np.allclose(standardise.mean.numpy(), mean, atol=1e-6)
    assert np.allclose(feats.features, (h - mean) / std, atol=1e-4)
    train = feats.features[:30].astype(np.float64)
    assert np.allclose(train.mean(0), 0, atol=1e-5) and np.allclose(train.std(0), 1, atol=1e-4)


def test_raw_features_without_standardising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    images = blobs(np.arange(40) % 4)
    net, path = run_stages(tmp_path, images, monkeypatch, replace(TINY, standardise=False))
    assert read_torch(net / "encoder.pt", "feature_net")["standardise"] is None
    model, _, _ = load_encoder(net / "encoder.pt")
    x = torch.from_numpy(images.pixels).float().div(255).sub(0.5).div(0.5)[:, None]
    with torch.no_grad():
        h = model(x).numpy()
    assert isinstance(model, FeatureEncoder)
    assert np.array_equal(read_features(path).features, h)


def test_byte_identical_reruns_and_no_labels_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three runs in one folder (provenance records paths): twice with the labels, once with
    # them shuffled; the network and the features must not change by a byte.
    labels = np.arange(40) % 4
    runs = []
    for y in (labels, labels, np.roll(labels, 1)):
        net, feats = run_stages(tmp_path, blobs(y), monkeypatch)
        files = (net / "encoder.pt", net / "history.json", feats)
        runs.append([f.read_bytes() for f in files] + [read_features(feats)])
    (*first, feats_a), (*second, _), (*shuffled, feats_s) = runs
    assert first == second
    assert first[:2] == shuffled[:2]  # labels unused by the training
    assert np.array_equal(feats_a.features, feats_s.features)
    assert not np.array_equal(feats_a.labels, feats_s.labels)


def test_other_backbones_write_no_network(tmp_path: Path) -> None:
    ds = DigitsData(source="digits")
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "encoder.pt").write_bytes(b"stale")
    stage.train_feature_net_stage(
        out=tmp_path / "net", data=DatasetRef("digits", ds, 0), f_cfg=P.features, cfg=TINY
    )
    assert [p.name for p in (tmp_path / "net").iterdir()] == ["none.json"]
    assert network_file(tmp_path / "net", P.features.backbone) is None
    with pytest.raises(NRDHError, match="simclr: no train_feature_net folder"):
        network_file(None, "simclr")
