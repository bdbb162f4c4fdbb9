"""The torchvision source: Fashion-MNIST from Debian's files equals torchvision's own loader,
the cifar10-1k protocol's sizes, balance and disjointness on it, the IDX cache, the errors."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from nrdh import data
from nrdh.data import LOADERS, ImageSet, load_dataset
from nrdh.errors import NRDHError
from nrdh.params import SOURCES, dataset_from_mapping
from nrdh.sources import INPUTS

DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
needs_debian = pytest.mark.skipif(
    not (DEBIAN / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)",
)


def fashion(**kw: object) -> data.DatasetConfig:
    entry = {"source": "torchvision", "dataset": "FashionMNIST", "root": str(DEBIAN), **kw}
    return dataset_from_mapping(entry, "datasets.fashion")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The IDX cache of this module, in place of the project's data/torchvision."""
    folder = tmp_path_factory.mktemp("torchvision")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data, "TORCHVISION_CACHE", folder)
        yield folder


@pytest.fixture(scope="module")
def fashion_1k(cache: Path) -> ImageSet:
    return load_dataset(fashion(protocol="cifar10-1k"), seed=0)


def test_every_source_registers_a_config_a_loader_and_its_inputs() -> None:
    assert set(LOADERS) == set(SOURCES) == set(INPUTS)


@needs_debian
def test_fashion_mnist_from_debian_equals_torchvisions_own_loader(
    fashion_1k: ImageSet, tmp_path: Path
) -> None:
    from torchvision.datasets import FashionMNIST

    raw = tmp_path / "FashionMNIST" / "raw"  # torchvision's layout, unpacked here by hand
    raw.mkdir(parents=True)
    for gz in DEBIAN.glob("*-ubyte.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    parts = [FashionMNIST(str(tmp_path), train=t) for t in (True, False)]
    pixels = np.concatenate([p.data.numpy() for p in parts])
    labels = np.concatenate([p.targets.numpy() for p in parts])
    assert fashion_1k.pixels is not None and fashion_1k.pixels.shape == (70000, 28, 28)
    np.testing.assert_array_equal(fashion_1k.pixels, pixels)
    np.testing.assert_array_equal(fashion_1k.labels.argmax(1), labels)
    assert fashion_1k.labels.sum(1).tolist() == [1] * 70000  # one-hot
    assert fashion_1k.class_names == parts[0].classes and fashion_1k[0].mode == "L"
    assert fashion_1k.ids[60000] == "fashionmnist/test/00000"


@needs_debian
def test_cifar10_1k_protocol_on_fashion_mnist_sizes_balance_disjoint(
    fashion_1k: ImageSet,
) -> None:
    y = fashion_1k.labels.argmax(1)
    q, db, tr = (set(fashion_1k.split[k]) for k in ("query", "database", "train"))
    assert (len(q), len(db), len(tr)) == (1000, 69000, 5000)
    assert not q & db and tr <= db and len(q | db) == 70000
    for name, per_class in (("query", 100), ("train", 500)):
        np.testing.assert_array_equal(np.bincount(y[fashion_1k.split[name]]), [per_class] * 10)
    other = load_dataset(fashion(protocol="cifar10-1k"), seed=1)
    assert not np.array_equal(fashion_1k.split["query"], other.split["query"])
    s54 = load_dataset(fashion(protocol="cifar10-1k-54k"), seed=0).split
    assert len(s54["database"]) == 64000 and not set(s54["train"]) & set(s54["database"])
    official = load_dataset(fashion(), seed=0).split  # "": the test set queries
    np.testing.assert_array_equal(official["query"], np.arange(60000, 70000))
    np.testing.assert_array_equal(official["train"], official["database"])


@needs_debian
def test_fashion_validation_split_never_touches_the_test_queries(fashion_1k: ImageSet) -> None:
    val = load_dataset(fashion(protocol="cifar10-1k", validation=500), seed=0)
    y = val.labels.argmax(1)
    assert {k: len(v) for k, v in val.split.items()} == {
        "query": 500,
        "database": 68500,
        "train": 5000,
    }
    np.testing.assert_array_equal(np.bincount(y[val.split["query"]]), [50] * 10)
    used = set(np.concatenate(list(val.split.values())))
    assert not used & set(fashion_1k.split["query"])
    assert not set(val.split["query"]) & set(val.split["database"])


def write_idx(root: Path, n_train: int, n_test: int, offset: int = 0) -> np.ndarray:
    """The MNIST family's four IDX .gz files in `root` (Debian's layout): 28x28 images of
    value (k + offset) % 256 for image k, classes cycling 0..9; returns the pixels."""
    root.mkdir(parents=True, exist_ok=True)
    k = np.arange(n_train + n_test)
    pixels = np.repeat(((k + offset) % 256).astype(np.uint8), 28 * 28).reshape(-1, 28, 28)
    for part, rows in (("train", slice(0, n_train)), ("t10k", slice(n_train, None))):
        imgs, labels = pixels[rows], (k[rows] % 10).astype(np.uint8)
        with gzip.open(root / f"{part}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, len(imgs), 28, 28) + imgs.tobytes())
        with gzip.open(root / f"{part}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, len(labels)) + labels.tobytes())
    return pixels


def test_idx_gz_files_unpack_once_and_again_when_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "TORCHVISION_CACHE", tmp_path / "cache")
    entry = {"source": "torchvision", "dataset": "KMNIST", "root": str(tmp_path / "idx")}
    cfg = dataset_from_mapping(entry, "datasets.k")
    first = write_idx(tmp_path / "idx", 200, 100)
    images = load_dataset(cfg, seed=0)
    np.testing.assert_array_equal(images.pixels, first)
    assert {k: len(v) for k, v in images.split.items()} == {
        "train": 200,
        "database": 200,
        "query": 100,
    }
    cached = tmp_path / "cache" / "KMNIST" / "raw" / "train-images-idx3-ubyte"
    stamp = cached.stat().st_mtime_ns
    load_dataset(cfg, seed=0)
    assert cached.stat().st_mtime_ns == stamp  # unchanged .gz: the copy is reused
    second = write_idx(tmp_path / "idx", 200, 100, offset=7)
    gz = tmp_path / "idx" / "train-images-idx3-ubyte.gz"
    os.utime(gz, ns=(stamp + 10**9, stamp + 10**9))
    np.testing.assert_array_equal(load_dataset(cfg, seed=0).pixels[:200], second[:200])


def test_missing_fashion_files_are_one_error_naming_folder_and_debian_package(
    tmp_path: Path,
) -> None:
    with pytest.raises(NRDHError) as err:
        load_dataset(fashion(root=str(tmp_path)), seed=0)
    text = str(err.value)
    assert text.startswith(f"{tmp_path}/FashionMNIST/raw: no FashionMNIST data")
    assert "/usr/share/datasets/fashion-mnist" in text and "\n" not in text


def test_unknown_torchvision_class_is_refused_naming_the_key() -> None:
    with pytest.raises(NRDHError, match=r"datasets.fashion.dataset: expected one of"):
        fashion(dataset="ImageNet")
