"""Exporting a dataset to list files and images, and loading it back with source: list."""

import numpy as np
import pytest
from conftest import write_params

from nrdh.cli import main
from nrdh.data import load_dataset
from nrdh.errors import NRDHError
from nrdh.export import export_list_dataset, scale_collection
from nrdh.params import DigitsMosaicData, ListData


def test_export_round_trip_keeps_images_labels_and_split(tmp_path):
    mosaics = load_dataset(DigitsMosaicData(source="digits_mosaic", n_images=60, n_query=10), 0)
    export_list_dataset(mosaics, tmp_path / "m")
    first = (tmp_path / "m" / "test.txt").read_text().splitlines()[0].split()
    assert first[0] == "images/000000.png" and len(first) == 11
    back = load_dataset(ListData(source="list", root=str(tmp_path / "m")), 0)
    assert back.class_names == mosaics.class_names
    assert len(back) == len(mosaics)
    # the list loader numbers images in file order: queries, then database (train = database)
    order = np.concatenate([mosaics.split["query"], mosaics.split["database"]])
    np.testing.assert_array_equal(back.labels, mosaics.labels[order])
    np.testing.assert_array_equal(np.asarray(back[3].convert("L")), mosaics.pixels[order[3]])
    assert len(back.split["query"]) == 10 and len(back.split["train"]) == 50


def test_export_list_command(tmp_path, capsys):
    mosaics = {"source": "digits_mosaic", "n_images": 30, "n_query": 5}
    params = write_params(
        tmp_path / "params.yaml",
        {"base": {"datasets": ["d"]}, "datasets": {"d": mosaics}},
    )
    main(["export-list", "--dataset", "d", "--out", str(tmp_path / "out"), "--params", str(params)])
    assert "30 images" in capsys.readouterr().out
    assert len((tmp_path / "out" / "database.txt").read_text().splitlines()) == 25


def test_make_scale_data_writes_a_cifar_shaped_list_dataset(tmp_path, capsys):
    out = tmp_path / "scale"
    main(["make-scale-data", "--n", "200", "--n-query", "20", "--n-train", "50", "--out", str(out)])
    assert "200 images (20 query, 50 train, 180 database)" in capsys.readouterr().out
    back = load_dataset(ListData(source="list", root=str(out)), 0)
    assert len(back) == 200 and back.labels.shape == (200, 10)
    y = back.labels.argmax(1)
    # class-balanced: 2 queries and 5 training images per class; train inside the database
    assert np.bincount(y[back.split["query"]]).tolist() == [2] * 10
    assert np.bincount(y[back.split["train"]]).tolist() == [5] * 10
    assert set(back.split["train"]) <= set(back.split["database"])
    assert not set(back.split["query"]) & set(back.split["database"])
    img = back[0]
    assert img.mode == "RGB" and img.size == (32, 32)
    assert len(np.unique(np.asarray(img).reshape(-1, 3), axis=0)) > 100  # texture, not flat


def test_scale_collection_sizes_must_leave_a_database():
    with pytest.raises(NRDHError, match=r"--n 100 must exceed --n-query 60 \+ --n-train 50"):
        scale_collection(100, 60, 50)
