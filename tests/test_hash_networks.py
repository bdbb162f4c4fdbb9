"""Hash networks: hasher.backbone auto picks a network that keeps space above 8x8, and the
EfficientNet-Lite0 trunk trains, saves its constructor arguments and loads back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import default_params

from nrdh import backbones, hash_network, io, objectives
from nrdh.data import DatasetRef, ImageSet, one_hot
from nrdh.models import EfficientNetTrunk


@pytest.mark.parametrize(
    ("image_size", "native", "expected"),
    [
        (0, (8, 8), "small_cnn"),  # the embedded digits
        (0, (16, 16), "flat_cnn"),  # digits_mosaic
        (0, (28, 28), "flat_cnn"),  # MNIST, Fashion-MNIST
        (0, (640, 480), "flat_cnn"),  # a folder or list dataset's photos
        (8, (28, 28), "small_cnn"),  # resized to 8x8 first
    ],
)
def test_auto_is_small_cnn_only_up_to_8x8(image_size: int, native: tuple, expected: str) -> None:
    assert hash_network.resolve_backbone("auto", image_size, native) == expected
    assert hash_network.resolve_backbone("resnet18", image_size, native) == "resnet18"


def test_params_default_hash_network_is_auto() -> None:
    assert default_params().hasher.backbone == "auto"


def grey_set(n: int, side: int) -> ImageSet:
    """`n` random grey side x side images, classes cycling 0..3, all of them training."""
    pixels = np.random.default_rng(0).integers(0, 256, (n, side, side), np.uint8)
    every = np.arange(n)
    return ImageSet(
        ids=np.array([f"g/{i}" for i in every]),
        labels=one_hot(every % 4, 4),
        class_names=list("abcd"),
        split={"train": every, "database": every, "query": every[:4]},
        pixels=pixels,
    )


@pytest.mark.parametrize(("backbone", "side"), [("auto", 16), ("efficientnet_lite0", 28)])
def test_trained_hash_network_records_its_trunk_and_loads_back(
    tmp_path: Path, backbone: str, side: int
) -> None:
    images = grey_set(16, side)
    hasher = default_params().hasher
    size = 32 if backbone == "efficientnet_lite0" else 0  # the trunk's input side
    cfg = dataclasses.replace(
        hasher,
        backbone=backbone,
        image_size=size,
        epochs=1,
        batch_size=8,
        device="cpu",
        checkpoint_every=0,
    )
    targets = np.random.default_rng(1).standard_normal((16, 16)).astype(np.float32)
    job = hash_network.HasherJob(
        out=tmp_path / "h.pt",
        history_out=tmp_path / "h.json",
        data=DatasetRef("grey", default_params().dataset("digits"), 0),
        cfg=cfg,
        bits=16,
        seed=0,
    )
    objective = objectives.NRDH(targets, cfg.mu, cfg.omega, cfg.bce_target)
    hash_network.fit_hash_network(job, images, np.arange(16), objective, {})
    ckpt = io.load_torch(tmp_path / "h.pt", "hasher")
    built = "flat_cnn" if backbone == "auto" else backbone
    assert ckpt["arch"] == {"backbone": built, "bits": 16, "channels": 1, "image_size": size}
    assert ckpt["input_size"] == (None if size else (side, side))
    model, t_eval, _ = hash_network.load_hasher(tmp_path / "h.pt")
    x = torch.stack([t_eval(images[i]) for i in range(4)])
    with torch.no_grad():
        fc, _ = model(x)
    assert fc.shape == (4, 16) and torch.isfinite(fc).all()
    if backbone == "efficientnet_lite0":
        assert isinstance(model.backbone, EfficientNetTrunk) and x.shape[-1] == 32


def test_efficientnet_trunk_starts_from_the_wheels_imagenet_weights() -> None:
    model, _, _ = hash_network.hash_network(
        backbone="efficientnet_lite0", bits=16, channels=1, image_size=64, weights="DEFAULT"
    )
    state = torch.load(backbones.efficientnet_weights_file(), weights_only=True)
    own = model.backbone.net.state_dict()
    assert set(own) == set(state) and all(torch.equal(own[k], state[k]) for k in state)
