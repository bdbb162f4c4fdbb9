"""Artifact I/O: atomic writes, HDF5 schema/provenance attrs, and clear errors on bad files.

Every artifact is written to a temporary file in the destination folder and renamed into
place only when complete, so an interrupted stage never leaves a half-written file that a
later stage could consume. HDF5 files carry ``schema_version``, ``kind`` and a JSON
``provenance`` attr (params used, input digests); nothing time- or host-dependent is
stored, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nrdh.errors import NRDHError

SCHEMA_VERSION = 1  # of the HDF5 artifacts
# Of the model checkpoints (.pt). 1: rebuilt through the params schema (its "config"), so any
# key added to HasherConfig or GCNConfig broke every checkpoint; 2: rebuilt from "arch", the
# network's own constructor arguments as plain values, whatever the params model becomes.
CHECKPOINT_SCHEMA_VERSION = 2


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A process killed inside the block (SIGKILL, a lost node) leaves its temporary file
    behind, where `git status` shows it beside a git-tracked output; the next write of the
    same `path` removes such leftovers first, since only one job writes a given output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}."
    # tempfile's names: the prefix, 8 random characters, the suffix (no other output's)
    for stale in path.parent.glob(f"{glob.escape(prefix)}{'?' * 8}.tmp{glob.escape(suffix)}"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual mode
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_digest(path: str | Path) -> str:
    """MD5 of a file's bytes (the digest DVC uses), for provenance attrs."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def provenance(params: dict[str, Any], inputs: dict[str, str | Path] | None = None) -> dict:
    """Provenance record: the params a stage read and the digests of the files it consumed."""
    return {
        "params": params,
        "inputs": {k: {"path": str(v), "md5": file_digest(v)} for k, v in (inputs or {}).items()},
    }


def check_bits(path: str | Path, found: int, bits: int) -> None:
    """Refuse an artifact of another code length than the one the stage was given (a value
    of base.bits): the code length lives in params, an artifact's shape only confirms it."""
    if found != bits:
        raise NRDHError(
            f"{path}: holds {found}-bit codes or representations, expected {bits} bits (the "
            "stage's code length, from base.bits); re-run the stage that wrote it"
        )


@contextlib.contextmanager
def create_h5(path: str | Path, kind: str, prov: dict) -> Iterator[h5py.File]:
    """Create an HDF5 artifact atomically, stamped with schema version, kind and provenance."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=True) as f:
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["kind"] = kind
            f.attrs["provenance"] = json.dumps(prov, sort_keys=True)
            yield f


def open_h5(path: str | Path, kind: str | None) -> h5py.File:
    """Open an HDF5 artifact for reading after checking it exists and has the expected schema.

    `kind` None accepts an artifact of any kind (`nrdh inspect`).
    """
    path = Path(path)
    if not path.is_file():
        what = "an nrdh HDF5 artifact" if kind is None else f"a '{kind}' artifact"
        raise NRDHError(f"{path}: file not found (expected {what}; run its stage first)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise NRDHError(f"{path}: not a readable HDF5 file ({exc})") from None
    version = f.attrs.get("schema_version")
    version = version.item() if isinstance(version, np.generic) else version
    found_kind = f.attrs.get("kind")
    if kind is not None and found_kind != kind:
        f.close()
        raise NRDHError(f"{path}: attr 'kind' is {found_kind!r}, expected {kind!r}")
    if version != SCHEMA_VERSION:
        f.close()
        raise NRDHError(
            f"{path}: attr 'schema_version' is {version!r}, expected {SCHEMA_VERSION}; "
            "re-run the stage that writes it"
        )
    return f


def require(f: h5py.File, key: str, dtype: Any = None, ndim: int | None = None) -> h5py.Dataset:
    """Return dataset `key` of `f`, raising an NRDHError naming file and key when it is absent
    or has the wrong dtype or rank."""
    if key not in f:
        raise NRDHError(f"{f.filename}: missing dataset '{key}'")
    ds = f[key]
    if dtype is not None and ds.dtype != np.dtype(dtype):
        raise NRDHError(
            f"{f.filename}: dataset '{key}' has dtype {ds.dtype}, expected {np.dtype(dtype)}"
        )
    if ndim is not None and ds.ndim != ndim:
        raise NRDHError(f"{f.filename}: dataset '{key}' has {ds.ndim} dimensions, expected {ndim}")
    return ds


def read_attr_json(f: h5py.File, key: str) -> Any:
    """Decode a JSON-valued attr."""
    if key not in f.attrs:
        raise NRDHError(f"{f.filename}: missing attr '{key}'")
    return json.loads(f.attrs[key])


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically with sorted keys and a trailing newline (stable bytes)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_torch(obj: Any, path: str | Path) -> None:
    """torch.save atomically (a killed stage leaves the previous file or none), refusing any
    value `load_torch` could not read back: a checkpoint holds tensors and plain types only."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    try:
        torch.load(io.BytesIO(buf.getvalue()), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _pickle_reason(exc)
        raise TypeError(f"{path}: checkpoint holds a non-plain value ({reason})") from None
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _pickle_reason(exc: Exception) -> str:
    """The one line of a torch.load error that says what was refused (its message is long)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in lines if "GLOBAL" in line), lines[0] if lines else "")
    return reason.split(". Please")[0] or type(exc).__name__


def read_torch(path: str | Path, kind: str) -> Any:
    """torch.load with ``weights_only=True``: tensors and plain Python values only, so a
    crafted file cannot run code on load; any failure names the file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise NRDHError(f"{path}: file not found (expected a '{kind}' checkpoint)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise NRDHError(
            f"{path}: not a valid {kind} checkpoint ({_pickle_reason(exc)}); "
            "checkpoints hold tensors and plain values only"
        ) from None


def load_torch(path: str | Path, kind: str) -> dict[str, Any]:
    """Load a checkpoint dict written by `save_torch` (see `read_torch`), checking its `kind`
    and schema."""
    obj = read_torch(path, kind)
    if not isinstance(obj, dict) or obj.get("kind") != kind:
        raise NRDHError(f"{path}: expected a '{kind}' checkpoint")
    version = obj.get("schema_version")
    if version != CHECKPOINT_SCHEMA_VERSION:
        raise NRDHError(
            f"{path}: checkpoint schema_version {version!r} is not one this nrdh reads "
            f"(expected {CHECKPOINT_SCHEMA_VERSION}); re-run the stage that wrote it"
        )
    return obj
