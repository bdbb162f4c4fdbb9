"""`nrdh query`: hash new images with a trained network and return their neighbours."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_digits_pipeline

from nrdh import codes_file
from nrdh.cli import main
from nrdh.data import load_dataset
from nrdh.params import DigitsData


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A tiny trained digits pipeline: features, graphs, GCN, node reps, hasher, codes."""
    d = tmp_path_factory.mktemp("query")
    tiny_digits_pipeline(d)
    codes_file.read_codes(d / "codes.h5")
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
    codes = codes_file.read_codes(trained["codes"])
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


def refusal(trained: dict[str, Path], model: Path, codes: Path, capsys) -> str:
    """The one error line `nrdh query` prints for this model and codes file (exit 2)."""
    query = digit_png(trained["dir"] / "q.png", 0)
    with pytest.raises(SystemExit) as exc:
        main(["query", str(query), "--model", str(model), "--codes", str(codes)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert f"{codes} and {model}: the codes were not made by this model" in err
    return err


def test_query_refuses_codes_of_another_method(trained, capsys):
    from nrdh.params import BaselinesConfig
    from nrdh.stages.baseline_codes import Args, baseline_codes_stage

    d = trained["dir"]
    lsh = Args("lsh", 0, features=d / "features.h5", out=str(d / "lsh_{bits}.h5"))
    baseline_codes_stage(lsh, bits=(16,), cfg=BaselinesConfig(methods=["lsh"], itq_iterations=5))
    err = refusal(trained, trained["model"], d / "lsh_16.h5", capsys)
    assert "codes: method 'lsh', 16 bits, made by no hash network" in err


def test_query_refuses_codes_of_another_network(trained, tmp_path, capsys):
    """The same method, dataset and code length, but another network's weights."""
    import torch

    ckpt = torch.load(trained["model"], weights_only=True)
    first = next(iter(ckpt["state_dict"]))
    ckpt["state_dict"][first] = ckpt["state_dict"][first] + 1.0
    other = tmp_path / "hasher_16.pt"
    torch.save(ckpt, other)
    err = refusal(trained, other, trained["codes"], capsys)
    assert "codes: method 'nrdh', dataset 'digits', 16 bits, made by another hash network" in err
