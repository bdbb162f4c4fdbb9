"""Sharded stages: one job per shard of rows, merged into one artifact whatever the count.

A sharded stage (``extract_features_shard``, ``compute_codes_shard``) runs once per entry of
params.yaml's ``shards.ids`` and writes the file its template names (workflow/paths.yaml,
``{shard}``) with its contiguous rows. Shard
boundaries are multiples of the stage's batch size, so every batch a network sees is the
same for any shard count. The merge stage reads the N files in order as one row range and
writes the artifact in fixed global blocks, so the merged file has the same bytes for any N.
Torch-free: merging starts fast.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nrdh import io
from nrdh.errors import NRDHError

BLOCK_BYTES = 16 << 20  # rows copied or read per block of a streamed pass: about 16 MiB


def shard_rows(n: int, shard: int, count: int, align: int) -> tuple[int, int]:
    """Rows [start, stop) of shard `shard` of `count` over n rows; boundaries are multiples
    of `align` (the batch size), so batches are the same whatever the count."""
    if not 0 <= shard < count:
        raise NRDHError(f"shard {shard}: out of range, expected 0 to {count - 1} ({count} shards)")
    blocks = -(-n // align)
    return (
        min(n, blocks * shard // count * align),
        min(n, blocks * (shard + 1) // count * align),
    )


def block_rows(row_bytes: int, align: int = 1) -> int:
    """Rows per streamed block: about BLOCK_BYTES, a positive multiple of `align`."""
    return max(1, BLOCK_BYTES // max(1, row_bytes) // align) * align


def shard_paths(folder: str | Path, count: int) -> list[Path]:
    """The shard files of a run's own temporary folder (`run_unsharded`, tests):
    <folder>/0.h5 ... <folder>/<count-1>.h5."""
    return [Path(folder) / f"{i}.h5" for i in range(count)]


def int_attr(f: h5py.File, key: str) -> int:
    """An integer attr, naming file and key when it is missing."""
    if key not in f.attrs:
        raise NRDHError(f"{f.filename}: missing attr '{key}'; re-run its shard stage")
    return int(f.attrs[key])


@contextlib.contextmanager
def open_shards(paths: list[Path], kind: str) -> Iterator[list[h5py.File]]:
    """Open the shard files `paths` (shard 0 first), checking that each names its index and
    the count and that all record the same provenance (params and inputs)."""
    count = len(paths)
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(io.open_h5(p, kind)) for p in paths]
        for i, f in enumerate(files):
            found = (int_attr(f, "shard"), int_attr(f, "shards"))
            if found != (i, count):
                raise NRDHError(
                    f"{f.filename}: shard {found[0]} of {found[1]}, expected shard {i} of "
                    f"{count} (shards.ids changed? re-run the shard stages)"
                )
            if f.attrs["provenance"] != files[0].attrs["provenance"]:
                raise NRDHError(
                    f"{f.filename}: params or inputs differ from {files[0].filename}; "
                    "re-run the shard stages"
                )
        yield files


def provenance_of(f: h5py.File) -> dict[str, Any]:
    """The provenance record of an artifact (what the merged file records in turn)."""
    return json.loads(f.attrs["provenance"])


class ConcatRows:
    """One dataset split across shard files, read by global row slices."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self.parts = parts
        self.offsets = np.cumsum([0, *map(len, parts)]).tolist()

    def __len__(self) -> int:
        return self.offsets[-1]

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Rows a:b of the concatenation (reads only the shards that hold them)."""
        a, b, _ = rows.indices(len(self))
        pieces = [
            part[max(a - lo, 0) : b - lo]
            for part, lo, hi in zip(self.parts, self.offsets, self.offsets[1:], strict=False)
            if lo < b and hi > a
        ]
        return np.concatenate(pieces) if pieces else self.parts[0][0:0]


def copy_rows(src: Any, dst: h5py.Dataset, block: int) -> None:
    """dst[a:b] = src[a:b] in consecutive blocks of `block` rows: memory stays flat."""
    if len(src) != len(dst):
        raise NRDHError(f"{dst.file.filename}: {dst.name} has {len(dst)} rows, shards {len(src)}")
    for a in range(0, len(dst), block):
        dst[a : a + block] = src[a : a + block]


def run_unsharded(
    write_shard: Callable[[Path], None], merge: Callable[[Path], None], out: str | Path
) -> None:
    """Write shard 0 of 1 into a temporary folder beside `out` and merge it: the unsharded
    stage takes the sharded path, so both give the same bytes."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        write_shard(shard_paths(tmp, 1)[0])
        merge(Path(tmp))
