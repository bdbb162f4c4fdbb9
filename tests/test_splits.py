"""Splits that cannot leak: a list dataset refuses a query that is also a training image.

The database and the training images may overlap (the field's protocols do); a query in
train.txt, even spelt differently (``./img/0.png``), stops the load with an error naming
both list files and the lines, unless ``allow_query_in_train: true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from nrdh.data import load_dataset
from nrdh.errors import NRDHError
from nrdh.params import DatasetConfig, dataset_from_mapping


def write_list_dataset(root: Path, n: int, query: list[str], train: list[str]) -> None:
    """n 4x4 PNGs img/0.png .. and list files: the given query and train paths, every image
    in the database; image k has label k mod 2 (2 labels)."""
    (root / "img").mkdir(parents=True)
    for k in range(n):
        Image.new("L", (4, 4), color=k * 10).save(root / "img" / f"{k}.png")

    def line(path: str) -> str:
        k = int(Path(path).stem)
        return f"{path} {1 - k % 2} {k % 2}\n"

    (root / "test.txt").write_text("".join(map(line, query)))
    (root / "database.txt").write_text("".join(line(f"img/{k}.png") for k in range(n)))
    (root / "train.txt").write_text("".join(map(line, train)))


def list_config(root: Path, **extra: object) -> DatasetConfig:
    return dataset_from_mapping({"source": "list", "root": str(root), **extra}, "ds")


def test_database_and_train_may_overlap(tmp_path: Path) -> None:
    write_list_dataset(tmp_path, 6, ["img/0.png", "img/1.png"], ["img/2.png", "img/3.png"])
    ds = load_dataset(list_config(tmp_path), seed=0)
    assert ds.split["query"].tolist() == [0, 1]
    assert ds.split["train"].tolist() == [2, 3]
    assert set(ds.split["train"]) <= set(ds.split["database"])


def test_query_in_train_names_files_and_lines(tmp_path: Path) -> None:
    # query lines 1-3 are img/0, img/1, img/2; train line 2 is img/1, line 4 is ./img/2 (the
    # same file once normalised), line 1 img/5 is only in train
    write_list_dataset(
        tmp_path, 6, ["img/0.png", "img/1.png", "img/2.png"],
        ["img/5.png", "img/1.png", "img/4.png", "./img/2.png"],
    )  # fmt: skip
    with pytest.raises(NRDHError) as exc:
        load_dataset(list_config(tmp_path), seed=0)
    assert str(exc.value) == (
        f"{tmp_path}/test.txt and {tmp_path}/train.txt: 2 image(s) both a query and a "
        "training image (test.txt:2 = train.txt:2, test.txt:3 = train.txt:4); remove them "
        "from one file, or set the dataset param 'allow_query_in_train: true'"
    )


def test_many_shared_images_show_the_first_five(tmp_path: Path) -> None:
    paths = [f"img/{k}.png" for k in range(8)]
    write_list_dataset(tmp_path, 8, paths, paths[::-1])
    with pytest.raises(
        NRDHError, match=r"8 image\(s\) .*test.txt:5 = train.txt:4 and 3 more\);"
    ) as exc:
        load_dataset(list_config(tmp_path), seed=0)
    assert "test.txt:6" not in str(exc.value)


def test_allow_query_in_train_lets_them_share(tmp_path: Path) -> None:
    write_list_dataset(tmp_path, 4, ["img/0.png", "img/1.png"], ["./img/1.png", "img/2.png"])
    ds = load_dataset(list_config(tmp_path, allow_query_in_train=True), seed=0)
    assert ds.ids.tolist() == ["img/0.png", "img/1.png", "img/2.png", "img/3.png"]
    assert ds.split["query"].tolist() == [0, 1] and ds.split["train"].tolist() == [1, 2]
