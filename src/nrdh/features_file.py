"""The features artifact (features.h5): its schema and writer, the merge of its shard files
(`merge_features`), and its readers, which later stages share (no torch import).

Its rows are read in windows (`iter_rows`, `read_rows`), so memory does not grow with the
collection.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nrdh import io
from nrdh.data import SPLITS
from nrdh.errors import NRDHError
from nrdh.io import open_h5, require
from nrdh.shards import ConcatRows, block_rows, copy_rows, int_attr, open_shards, provenance_of

H5_CHUNK_BYTES = 1 << 20  # HDF5 chunk of about 1 MiB: fast row-range reads, small cache


@dataclass(frozen=True)
class Features:
    """The arrays of a features.h5 artifact (schema: `merge_features`)."""

    features: np.ndarray  # (n, z) float32 (an HDF5 dataset from `open_features`)
    labels: np.ndarray  # (n, C) uint8 (likewise)
    ids: np.ndarray  # (n,) str (likewise, read as str)
    split: dict[str, np.ndarray]  # "train" / "database" / "query" -> sorted int64 indices
    attrs: dict[str, Any]  # backbone, weights, z, n, num_classes, class_names, provenance


def read_features(path: str | Path) -> Features:
    """Load and validate a features artifact; NaN/Inf features are rejected by row."""
    with open_features(path) as lazy:
        feats = Features(
            lazy.features[...], lazy.labels[...], lazy.ids[...].astype(str), lazy.split, lazy.attrs
        )
    check_finite(path, feats.features, np.arange(len(feats.features)))
    return feats


@contextlib.contextmanager
def open_features(path: str | Path) -> Iterator[Features]:
    """A validated features artifact whose features, labels and ids stay on disk: HDF5
    datasets read by slice (see `iter_rows`), so streamed stages hold one block at a time.
    Split and attrs are loaded."""
    with open_h5(path, "features") as f:
        x = require(f, "features", np.float32, 2)
        labels = require(f, "labels", np.uint8, 2)
        ids = require(f, "ids", ndim=1).asstr()
        split = {name: require(f, name, np.int64, 1)[...] for name in SPLITS}
        keys = ("backbone", "weights", "z", "n", "num_classes", "class_names", "provenance")
        missing = [k for k in keys if k not in f.attrs]
        if missing:
            raise NRDHError(f"{path}: missing attr(s) {missing}; re-run the features stage")
        attrs: dict[str, Any] = {k: str(f.attrs[k]) for k in ("backbone", "weights")}
        attrs |= {k: int(f.attrs[k]) for k in ("z", "n", "num_classes")}
        attrs |= {k: json.loads(f.attrs[k]) for k in ("class_names", "provenance")}
        n = len(x)
        if len(labels) != n or len(ids) != n:
            raise NRDHError(
                f"{path}: features has {n} rows but labels {len(labels)} and ids {len(ids)}"
            )
        for name, idx in split.items():
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise NRDHError(f"{path}: split '{name}' has indices outside [0, {n})")
        yield Features(x, labels, ids, split, attrs)


def check_finite(path: str | Path, x: np.ndarray, rows: np.ndarray) -> None:
    """Reject NaN/Inf feature rows, naming the first bad one (`rows`: their rows in the file)."""
    finite = np.isfinite(x).all(axis=tuple(range(1, x.ndim)))
    if not finite.all():
        raise NRDHError(
            f"{path}: features row {int(rows[np.argmin(finite)])} is NaN or Inf, expected "
            "finite values (check that image and the backbone, then re-extract)"
        )


def iter_rows(src: Any, idx: np.ndarray, window: int) -> Iterator[tuple[int, np.ndarray]]:
    """(position p, src[idx[p:q]]) over sorted `idx`, reading at most `window` consecutive
    rows of `src` (an HDF5 dataset or array) at a time: memory bounded by the window."""
    pos = 0
    while pos < len(idx):
        lo = int(idx[pos])
        end = int(np.searchsorted(idx, lo + window, side="left"))
        block = src[lo : int(idx[end - 1]) + 1]
        yield pos, block[idx[pos:end] - lo]
        pos = end


def read_rows(src: Any, idx: np.ndarray, window: int) -> np.ndarray:
    """src[idx] for sorted `idx`, read `window` rows at a time (see `iter_rows`)."""
    out = np.empty((len(idx), *src.shape[1:]), dtype=src.dtype)
    for pos, rows in iter_rows(src, idx, window):
        out[pos : pos + len(rows)] = rows
    return out


def check_coverage(files: list[h5py.File], n: int) -> None:
    """The shards' [start, stop) ranges must tile 0..n in order."""
    end = 0
    for f in files:
        start, stop = int_attr(f, "start"), int_attr(f, "stop")
        if start != end:
            raise NRDHError(f"{f.filename}: starts at row {start}, expected {end}")
        end = stop
    if end != n:
        raise NRDHError(f"{files[-1].filename}: shards end at row {end}, expected {n}")


def merge_features(shard_files: list[Path], out: str | Path) -> None:
    """features.h5 from its shard files (shard 0 first), written in fixed blocks (same bytes
    for any count).

    Schema of the file (kind "features"):
      features  float32 (n, z), chunked   one row per image, in dataset order
      labels    uint8 (n, C)              multi-hot labels (single-label data one-hot)
      ids       UTF-8 strings (n,)        image ids (file paths relative to the data root)
      train, database, query  int64       sorted row indices of each split
      attrs: backbone, weights, z, n, num_classes, class_names (JSON list),
             plus schema_version, kind, provenance (the shards' own) from nrdh.io.create_h5.
    """
    with open_shards(shard_files, "features_shard") as files:
        first = files[0]
        n, z, classes = (int_attr(first, k) for k in ("n", "z", "num_classes"))
        check_coverage(files, n)
        rows = max(1, min(n, H5_CHUNK_BYTES // (4 * z)))
        with io.create_h5(out, "features", provenance_of(first)) as f:
            feats = f.create_dataset(
                "features", shape=(n, z), dtype=np.float32, chunks=(rows, z), track_times=False
            )
            copy_rows(ConcatRows([s["features"] for s in files]), feats, block_rows(4 * z, rows))
            labels = f.create_dataset(
                "labels", shape=(n, classes), dtype=np.uint8, track_times=False
            )
            copy_rows(ConcatRows([s["labels"] for s in files]), labels, block_rows(classes))
            ids = f.create_dataset("ids", shape=(n,), dtype=h5py.string_dtype(), track_times=False)
            copy_rows(ConcatRows([s["ids"].asstr() for s in files]), ids, block_rows(256))
            for name in SPLITS:
                idx = np.concatenate([io.require(s, name, np.int64, 1)[()] for s in files])
                f.create_dataset(name, data=idx, track_times=False)
            for key in ("backbone", "weights", "z", "n", "num_classes", "class_names"):
                f.attrs[key] = first.attrs[key]
