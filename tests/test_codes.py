"""Code packing, unpacking and binarisation, with hand-worked bytes."""

import subprocess
import sys

import numpy as np
import pytest

from nrdh.codes import as_packed, pack_codes, sign_to_bits, to_words, unpack_codes
from nrdh.errors import NRDHError


def test_pack_is_big_bit_order_and_round_trips():
    bits = np.array([[1, 0, 0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]], np.uint8)
    packed = pack_codes(bits)
    np.testing.assert_array_equal(packed, [[0b10000001, 0b11000000], [0, 0b01000000]])
    np.testing.assert_array_equal(unpack_codes(packed, 10), bits)


def test_sign_to_bits_maps_zero_to_one():
    np.testing.assert_array_equal(sign_to_bits(np.array([[-0.5, 0.0, 2.0]])), [[0, 1, 1]])
    with pytest.raises(NRDHError, match="NaN"):
        sign_to_bits(np.array([[np.nan]]))


def test_bad_codes_are_named():
    with pytest.raises(NRDHError, match=r"codes: expected 0/1 entries, got 2 at \[0, 1\]"):
        pack_codes(np.array([[0, 2]]))
    with pytest.raises(NRDHError, match="2-D"):
        pack_codes(np.zeros(3))
    with pytest.raises(NRDHError, match="packed uint8"):
        unpack_codes(np.zeros((1, 3), np.uint8), 10)
    with pytest.raises(NRDHError, match="bits=10"):
        as_packed(np.zeros((1, 5), np.uint8), 10)


def test_as_packed_reads_both_layouts_and_clears_padding():
    bits = np.array([[1, 1, 1]], np.uint8)
    assert as_packed(bits)[1] == 3
    np.testing.assert_array_equal(as_packed(bits)[0], [[0b11100000]])
    dirty = np.array([[0b11111111]], np.uint8)  # five padding bits set
    np.testing.assert_array_equal(as_packed(dirty, 3)[0], [[0b11100000]])


def test_words_are_zero_padded():
    words = to_words(np.full((2, 9), 255, np.uint8))
    assert words.shape == (2, 2) and words.dtype == np.uint64
    assert int(np.bitwise_count(words).sum()) == 2 * 72


def test_writing_codes_does_not_import_numba() -> None:
    # numba costs 0.17 s a process; only search and evaluation compile its kernels
    # (nrdh.hamming), not the ten baseline and two merge processes of the default run.
    probe = (
        "import sys, nrdh.codes_file, nrdh.stages.baseline_codes, nrdh.stages.compute_codes; "
        "assert 'numba' not in sys.modules, 'imported numba'"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
