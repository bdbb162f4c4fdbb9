"""Readers of the pipeline's HDF5 artifacts that later stages share (no torch import)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nrdh.data import SPLITS
from nrdh.errors import NRDHError
from nrdh.io import open_h5, require


@dataclass(frozen=True)
class Features:
    """The arrays of a features.h5 artifact (see `extract_features` for the schema)."""

    features: np.ndarray  # (n, z) float32
    labels: np.ndarray  # (n, C) uint8
    ids: np.ndarray  # (n,) str
    split: dict[str, np.ndarray]  # "train" / "database" / "query" -> sorted int64 indices
    attrs: dict[str, Any]  # backbone, weights, z, n, num_classes, class_names, provenance


def read_features(path: str | Path) -> Features:
    """Load and validate a features artifact; NaN/Inf features are rejected by row."""
    with open_h5(path, "features") as f:
        x = require(f, "features", np.float32, 2)[...]
        labels = require(f, "labels", np.uint8, 2)[...]
        ids = require(f, "ids", ndim=1).asstr()[...].astype(str)
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
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        raise NRDHError(f"{path}: features row {int(np.argmin(finite))} is NaN or Inf")
    return Features(x, labels, ids, split, attrs)
