"""`nrdh query`: hash new images with a trained network and return their neighbours."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_digits_pipeline

from nrdh.cli import main
from nrdh.data import load_dataset
from nrdh.params import DigitsData
from nrdh.pipeline import evaluation


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A tiny trained digits pipeline: features, graphs, GCN, node reps, hasher, codes."""
    d = tmp_path_factory.mktemp("query")
    tiny_digits_pipeline(d)
    evaluation.read_codes(d / "codes.h5")
    return {"model": d / "hasher.pt", "codes": d / "codes.h5", "dir": d}


def digit_png(path: Path, index: int, mode: str = "L", size: int = 8) -> Path:
    """Write digits image `index` as a PNG (optionally converted or resized)."""
    img = load_dataset(DigitsData(source="digits"), 0)[index]
    img.convert(mode).resize((size, size)).save(path)
    return path


@pytest.mark.filterwarnings("error")  # a query prints its neighbours, not torch's warnings
def test_query_returns_neighbours_with_distances(trained, tmp_path, capsys):
    query = digit_png(tmp_path / "q.png", 0)  # a query-split image of a 0
    main(
        [
            "query",
            str(query),
            "--model",
            str(trained["model"]),
            "--codes",
            str(trained["codes"]),
            "-k",
            "5",
            "--json",
            "--grid",
            str(tmp_path / "grid.png"),
        ]
    )
    (result,) = json.loads(capsys.readouterr().out)
    assert len(result["ids"]) == 5 == len(result["distances"]) == len(result["labels"])
    assert result["distances"] == sorted(result["distances"])
    assert all(0 <= d <= 16 for d in result["distances"])
    assert all(i.startswith("digits/") for i in result["ids"])
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_query_distances_match_the_database_codes(trained, tmp_path, capsys):
    # A database image queried by its own file is at distance 0 from its own code.
    ds = load_dataset(DigitsData(source="digits"), 0)
    j = int(ds.split["database"][7])
    path = tmp_path / "db.png"
    ds[j].save(path)
    main(
        [
            "query",
            str(path),
            "--model",
            str(trained["model"]),
            "--codes",
            str(trained["codes"]),
            "-k",
            "3",
            "--json",
        ]
    )
    (result,) = json.loads(capsys.readouterr().out)
    assert result["distances"][0] == 0
    codes = evaluation.read_codes(trained["codes"])
    zero = np.flatnonzero(
        (
            codes["database"]["codes"]
            == codes["database"]["codes"][np.flatnonzero(codes["database"]["index"] == j)[0]]
        ).all(1)
    )
    assert result["ids"][0] in {str(codes["database"]["ids"][z]) for z in zero}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.png", "query image not found"),
        (
            lambda p: (p / "bad.png").write_bytes(b"not an image") and p / "bad.png",
            "not a readable image",
        ),
        (lambda p: digit_png(p / "rgba.png", 3, mode="RGBA"), "image mode 'RGBA', expected"),
        (lambda p: digit_png(p / "big.png", 3, size=12), "image size 12x12, expected 8x8"),
    ],
)
def test_bad_query_images_give_clear_errors(trained, tmp_path, capsys, make, message):
    path = make(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(
            ["query", str(path), "--model", str(trained["model"]), "--codes", str(trained["codes"])]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
