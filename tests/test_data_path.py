"""Loader settings change speed only: the same features and codes with worker processes."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from conftest import default_params
from torchvision import transforms as T

from nrdh.export import scale_collection
from nrdh.features import extract_features
from nrdh.features_file import read_features
from nrdh.models import HashNet, SmallCNN
from nrdh.train import hash_outputs

PROV = {"params": {}, "inputs": {}}


def test_extraction_with_workers_matches_the_main_process(tmp_path: Path) -> None:
    images = scale_collection(20, 10, 0)
    feats = []
    for workers in (0, 2):
        cfg = replace(
            default_params().features,
            backbone="resnet18",
            weights="none",
            batch_size=8,
            num_workers=workers,
        )
        extract_features(images, cfg, tmp_path / f"f{workers}.h5", PROV)
        feats.append(read_features(tmp_path / f"f{workers}.h5").features)
    assert feats[0].shape == (20, 512)
    np.testing.assert_array_equal(feats[0], feats[1])


def test_hash_outputs_with_workers_keep_the_order() -> None:
    images = scale_collection(30, 10, 0)
    torch.manual_seed(0)
    model = HashNet(SmallCNN(3), SmallCNN.out_dim, 8)
    view = images.view(T.ToTensor())
    ref = hash_outputs(model, view, 4, "cpu")
    one_by_one = np.concatenate(
        [hash_outputs(model, images.view(T.ToTensor(), [i]), 1, "cpu") for i in (0, 29)]
    )
    np.testing.assert_allclose(ref[[0, 29]], one_by_one, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(hash_outputs(model, view, 4, "cpu", num_workers=2), ref)
