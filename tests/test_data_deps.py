"""A user's own images are dependencies in both engines (issue 27).

A project with a folder dataset and a list dataset, both made here, is built by DVC up to
the features; then, on copies, removing an image, adding one (copied with its old mtime)
and editing a list line must each make `dvc status` and `snakemake -n` plan the extraction
of that dataset, and an untouched collection must be a no-op in both.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import default_params, make_project, run, snakemake_planned, tool
from PIL import Image

from nrdh.params import parse
from nrdh.sources import content_digest, link_sources, snapshot

DATASETS = {
    "photos": {"source": "folder", "root": "photos", "n_query": 3},
    "listed": {"source": "list", "root": "listed"},
}
FEATURES = [f"extract_features@{ds}" for ds in DATASETS]


def write_png(path: Path, seed: int) -> None:
    """An 8x8 RGB PNG of seeded noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)


def write_collections(project: Path) -> None:
    """photos/<class>/<k>.png (3 classes of 4) and listed/ with img/<k>.png and the three
    DeepHash-style list files (2 queries, 7 database and training images, 3 labels)."""
    for c in range(3):
        for k in range(4):
            write_png(project / "photos" / f"class{c}" / f"{k}.png", 10 * c + k)
    lines = []
    for k in range(9):
        write_png(project / "listed" / "img" / f"{k}.png", 100 + k)
        lines.append(f"img/{k}.png " + " ".join("1" if k % 3 == c else "0" for c in range(3)))
    for name, part in (("test", lines[:2]), ("database", lines[2:]), ("train", lines[2:])):
        (project / "listed" / f"{name}.txt").write_text("\n".join(part) + "\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_params) -> Path:
    """The project on both datasets, its features built by `dvc repro`."""
    params = yaml.safe_load(tiny_params.read_text())
    params["base"]["datasets"] = list(DATASETS)
    params["datasets"] |= DATASETS
    params["grid"]["queries"] = 2
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    project = make_project(tmp_path_factory.mktemp("deps") / "p", path)
    write_collections(project)
    run([tool("dvc"), "repro", *FEATURES], project)
    return project


def planned(project: Path) -> tuple[set[str], set[str]]:
    """Stages `dvc status` lists and jobs `snakemake -n` plans, for the features only."""
    status = json.loads(
        run([tool("dvc"), "status", "--json", "--with-deps", *FEATURES], project).stdout
    )
    targets = [f"data/{ds}/features.h5" for ds in DATASETS]
    jobs = snakemake_planned(project, targets)
    return set(status), {j for j in jobs if j.startswith(("extract", "train_feature"))}


def remove_image(project: Path) -> None:
    (project / "photos" / "class1" / "2.png").unlink()


def add_image(project: Path) -> None:
    """A new image copied with its old mtime: newer than nothing Snakemake built."""
    shutil.copy2(project / "photos" / "class0" / "0.png", project / "photos" / "class2" / "9.png")


def edit_list_line(project: Path) -> None:
    """One database line's labels changed (the file's mtime set back to the old one)."""
    path = project / "listed" / "database.txt"
    st = path.stat()
    path.write_text(path.read_text().replace("img/4.png 0 1 0", "img/4.png 1 1 0"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.slow
def test_an_untouched_collection_is_a_no_op_in_both_engines(built, tmp_path):
    project = shutil.copytree(built, tmp_path / "p", symlinks=True)
    assert planned(project) == (set(), set())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "dataset"),
    [(remove_image, "photos"), (add_image, "photos"), (edit_list_line, "listed")],
)
def test_a_data_change_reruns_extraction_in_both_engines(
    built, tmp_path, change: Callable[[Path], None], dataset: str
):
    project = shutil.copytree(built, tmp_path / "p", symlinks=True)
    change(project)
    dvc, smk = planned(project)
    assert f"extract_features_shard@{dataset}-0" in dvc
    assert f"train_feature_net@{dataset}" in dvc
    assert f"extract_features_shard@{dataset}-0" in smk
    other = next(ds for ds in DATASETS if ds != dataset)
    assert not any(other in name for name in dvc | smk)


@pytest.mark.slow
def test_features_record_the_data_digest(built, monkeypatch):
    """features.h5's provenance holds the digest of the images and list files read."""
    import h5py

    p = parse(yaml.safe_load((built / "params.yaml").read_text()))
    monkeypatch.chdir(built)  # the params' paths are relative to the project
    expected = content_digest(p.dataset("listed"))
    with h5py.File(built / "data/listed/features.h5") as f:
        prov = json.loads(f.attrs["provenance"])
    assert prov["inputs"]["data"] == expected
    assert expected["files"] == 9 + 3  # the images and the three list files


def test_links_and_snapshot_follow_the_data(tmp_path):
    """The links point at the data, the placeholder has fixed bytes, and the snapshot file
    is rewritten only when the data changes."""
    write_collections(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    write_png(tmp_path / "elsewhere" / "img" / "0.png", 0)
    listed = {"source": "list", "root": "listed", "image_root": "elsewhere"}
    p = default_params(base={"datasets": list(DATASETS)}, datasets={**DATASETS, "listed": listed})
    link_sources(p, tmp_path)
    sources = tmp_path / "data" / "sources"
    assert os.readlink(sources / "photos") == "../../photos"
    assert os.readlink(sources / "listed.images") == "../../elsewhere"
    assert not (sources / "photos.images").is_symlink()
    snap = sources / "photos.snapshot"
    before = snap.stat().st_mtime_ns
    assert snap.read_text().strip() == snapshot([tmp_path / "photos"])
    link_sources(p, tmp_path)
    assert snap.stat().st_mtime_ns == before  # untouched data: the file is not rewritten
    remove_image(tmp_path)
    link_sources(p, tmp_path)
    assert snap.read_text().strip() == snapshot([tmp_path / "photos"]) != ""
