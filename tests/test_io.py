"""HDF5 artifacts: round trip, schema checks, atomic writes."""

import json
import os

import h5py
import numpy as np
import pytest

from nrdh import io
from nrdh.errors import NRDHError


def test_h5_round_trip_with_provenance(tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(b"abc")
    prov = io.provenance({"graph": {"rho": 0.4}}, {"features": src})
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    with io.create_h5(tmp_path / "a.h5", "graphs", prov) as f:
        f.create_dataset("x", data=x)
    with io.open_h5(tmp_path / "a.h5", "graphs") as f:
        np.testing.assert_array_equal(io.require(f, "x", np.float32, 2)[()], x)
        got = io.read_attr_json(f, "provenance")
    assert got["params"] == {"graph": {"rho": 0.4}}
    assert got["inputs"]["features"]["md5"] == "900150983cd24fb0d6963f7d28e17f72"  # md5("abc")


def test_same_content_gives_identical_bytes(tmp_path):
    for name in ("a.h5", "b.h5"):
        with io.create_h5(tmp_path / name, "codes", {"params": {}}) as f:
            f.create_dataset("x", data=np.ones((4, 2), np.uint8))
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_interrupted_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), io.create_h5(tmp_path / "a.h5", "codes", {}) as f:
        f.create_dataset("x", data=np.ones(3))
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_wrong_kind_and_schema_version_are_named(tmp_path):
    with io.create_h5(tmp_path / "a.h5", "codes", {}) as f:
        f.create_dataset("x", data=np.ones(3, np.float64))
    with pytest.raises(NRDHError, match="attr 'kind' is 'codes', expected 'graphs'"):
        io.open_h5(tmp_path / "a.h5", "graphs")
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(NRDHError, match="schema_version' is 99, expected 1"):
        io.open_h5(tmp_path / "a.h5", "codes")


def test_missing_dataset_and_dtype_are_named(tmp_path):
    with io.create_h5(tmp_path / "a.h5", "codes", {}) as f:
        f.create_dataset("x", data=np.ones(3, np.float64))
    with io.open_h5(tmp_path / "a.h5", "codes") as f:
        with pytest.raises(NRDHError, match="missing dataset 'y'"):
            io.require(f, "y")
        with pytest.raises(NRDHError, match="dtype float64, expected uint8"):
            io.require(f, "x", np.uint8)


def test_missing_and_non_hdf5_files(tmp_path):
    with pytest.raises(NRDHError, match="file not found"):
        io.open_h5(tmp_path / "nope.h5", "codes")
    (tmp_path / "bad.h5").write_text("not hdf5")
    with pytest.raises(NRDHError, match="not a readable HDF5 file"):
        io.open_h5(tmp_path / "bad.h5", "codes")


def test_write_json_is_stable(tmp_path):
    io.write_json(tmp_path / "m.json", {"b": 1, "a": [0.5]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": [0.5], "b": 1}
    assert (tmp_path / "m.json").read_text().startswith('{\n  "a"')


def test_artifacts_get_the_usual_file_mode(tmp_path):
    io.write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_killed_writes_temporary_file_goes_with_the_next_write(tmp_path):
    # What SIGKILL inside a write leaves: mkstemp's name beside the output. The next write
    # of the same output removes it; another output's temporary file stays.
    killed = tmp_path / ".a.json.k2x9_q0z.tmp"
    other = tmp_path / ".a.json.ckpt.k2x9_q0z.tmp"  # a temp of a.json.ckpt, not of a.json
    killed.write_text("{")
    other.write_text("{")
    io.write_json(tmp_path / "a.json", {"x": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "a.json"]
