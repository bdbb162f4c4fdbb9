"""The codes artifact (codes_<bits>.h5) every code stage writes: writer, shard merge, reader.

Kept free of torch so the evaluation stages start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nrdh import codes, io, shards
from nrdh.errors import NRDHError
from nrdh.features_file import Features, iter_rows, open_features

CODE_SPLITS = ("query", "database")
ID_ROWS = 1 << 16  # ids and labels copied per block into a codes file


@contextlib.contextmanager
def codes_file(
    out: Path,
    method: str,
    bits: int,
    feats: Features,
    prov: dict,
    model_state: dict[str, np.ndarray] | None = None,
) -> Iterator[dict[str, h5py.Dataset]]:
    """Create codes_<bits>.h5 with each split's ids, labels and index (copied from `feats`
    in blocks, so a lazy `open_features` view works) and yield its empty packed `codes`
    dataset per split, for the caller to fill."""
    with io.create_h5(out, "codes", prov) as f:
        packed: dict[str, h5py.Dataset] = {}
        for split in CODE_SPLITS:
            g = f.create_group(split)
            idx = feats.split[split]
            packed[split] = g.create_dataset(
                "codes", shape=(len(idx), codes.n_bytes(bits)), dtype=np.uint8
            )
            ids = g.create_dataset("ids", shape=(len(idx),), dtype=h5py.string_dtype())
            for pos, rows in iter_rows(feats.ids, idx, ID_ROWS):
                ids[pos : pos + len(rows)] = rows.astype(object)
            labels = g.create_dataset(
                "labels", shape=(len(idx), feats.labels.shape[1]), dtype=np.uint8
            )
            for pos, rows in iter_rows(feats.labels, idx, ID_ROWS):
                labels[pos : pos + len(rows)] = rows
            g.create_dataset("index", data=idx)
        f.attrs["bits"] = bits
        f.attrs["method"] = method
        f.attrs["class_names"] = json.dumps(feats.attrs["class_names"])
        yield packed
        for key, value in (model_state or {}).items():
            f.create_dataset(f"model/{key}", data=value)


def write_codes(
    out: Path,
    method: str,
    bits: int,
    feats: Features,
    bq: np.ndarray,
    bb: np.ndarray,
    prov: dict,
    model_state: dict[str, np.ndarray] | None = None,
) -> None:
    """codes_<bits>.h5 from in-memory 0/1 query and database codes (see `codes_file`)."""
    with codes_file(out, method, bits, feats, prov, model_state) as packed:
        for split, b in zip(CODE_SPLITS, (bq, bb), strict=True):
            packed[split][...] = codes.pack_codes(b)


def merge_codes(shard_files: list[Path], features_path: Path, out: Path, bits: int) -> None:
    """The `bits`-bit codes file from its ``codes_shard`` files (shard 0 first) and the
    features they were computed from, copied in fixed blocks: the same bytes for any shard
    count."""
    with (
        shards.open_shards(shard_files, "codes_shard") as files,
        open_features(features_path) as feats,
    ):
        prov = shards.provenance_of(files[0])
        recorded = prov["inputs"]["features"]["md5"]
        if recorded != io.file_digest(features_path):
            raise NRDHError(
                f"{features_path}: not the features file the shards {shard_files[0]} ... were "
                "computed from (md5 differs); re-run the shard stages"
            )
        attrs = files[0].attrs
        io.check_bits(shard_files[0], int(attrs["bits"]), bits)
        with codes_file(out, str(attrs["method"]), bits, feats, prov) as packed:
            for split, dst in packed.items():
                src = shards.ConcatRows(
                    [io.require(s, f"{split}/codes", np.uint8, 2) for s in files]
                )
                shards.copy_rows(src, dst, shards.block_rows(dst.shape[1]))


def read_codes(path: Path) -> dict[str, Any]:
    """Query and database codes and labels from codes_<bits>.h5, checked for consistency."""
    with io.open_h5(path, "codes") as f:
        out: dict[str, Any] = {
            "bits": int(f.attrs["bits"]),
            "method": str(f.attrs["method"]),
            "class_names": io.read_attr_json(f, "class_names"),
        }
        for split in ("query", "database"):
            out[split] = {
                "codes": io.require(f, f"{split}/codes", np.uint8, 2)[()],
                "labels": io.require(f, f"{split}/labels", np.uint8, 2)[()],
                "index": io.require(f, f"{split}/index", np.int64, 1)[()],
                "ids": io.require(f, f"{split}/ids", ndim=1).asstr()[()],
            }
    nbytes = -(-out["bits"] // 8)
    for split in ("query", "database"):
        if out[split]["codes"].shape[1] != nbytes:
            raise NRDHError(
                f"{path}: {split}/codes has {out[split]['codes'].shape[1]} bytes per code, "
                f"expected {nbytes} for bits={out['bits']}"
            )
    return out
