"""Binary hash codes: 0/1 bits, byte-packed codes and 64-bit words for XOR-popcount search
(the kernel is `nrdh.hamming`, so writing codes does not import numba).

One vocabulary: ``bits`` is the code length; unpacked codes are ``(n, bits)`` uint8 arrays of
0/1; packed codes are ``(n, ceil(bits / 8))`` uint8 arrays made by ``np.packbits`` with
``bitorder="big"`` (bit 0 of the code is the most significant bit of byte 0), the layout
FAISS binary indexes take.
"""

from __future__ import annotations

import numpy as np

from nrdh.errors import NRDHError


def _require_2d(b: np.ndarray, name: str) -> np.ndarray:
    """Return ``b`` as a 2-D numpy array or raise naming the argument and its shape."""
    b = np.asarray(b)
    if b.ndim != 2:
        raise NRDHError(f"{name}: expected a 2-D array (n, bits), got shape {b.shape}")
    return b


def _require_binary(b: np.ndarray, name: str) -> np.ndarray:
    """Return ``b`` as uint8 after checking every entry is 0 or 1 (bool is accepted)."""
    if b.dtype == np.bool_:
        return b.view(np.uint8)
    if not (np.issubdtype(b.dtype, np.integer) or np.issubdtype(b.dtype, np.floating)):
        raise NRDHError(f"{name}: expected 0/1 numbers, got dtype {b.dtype}")
    bad = (b != 0) & (b != 1)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise NRDHError(
            f"{name}: expected 0/1 entries, got {b[row, col].item()!r} at [{row}, {col}]"
        )
    return b.astype(np.uint8, copy=False)


def n_bytes(bits: int) -> int:
    """Bytes per packed code of ``bits`` bits."""
    return (bits + 7) // 8


def pack_codes(b: np.ndarray, name: str = "codes") -> np.ndarray:
    """Pack ``(n, bits)`` 0/1 codes into ``(n, ceil(bits/8))`` uint8 bytes, big bit order."""
    b = _require_binary(_require_2d(b, name), name)
    return np.packbits(b, axis=1, bitorder="big")


def unpack_codes(packed: np.ndarray, bits: int, name: str = "codes") -> np.ndarray:
    """Unpack ``(n, ceil(bits/8))`` uint8 bytes back into ``(n, bits)`` 0/1 uint8 codes."""
    packed = _require_2d(packed, name)
    if packed.dtype != np.uint8 or packed.shape[1] != n_bytes(bits):
        raise NRDHError(
            f"{name}: expected packed uint8 codes of shape (n, {n_bytes(bits)}) for {bits} bits, "
            f"got {packed.dtype} {packed.shape}"
        )
    return np.unpackbits(packed, axis=1, count=bits, bitorder="big")


def code_stats(packed: np.ndarray, bits: int) -> dict[str, int]:
    """How many distinct codes a packed set holds, and how many of its bits take one value on
    every item (stuck bits split nothing): the signs of collapsed codes."""
    b = unpack_codes(packed, bits)  # (n, bits) of 0/1
    ones = b.sum(axis=0, dtype=np.int64)
    stuck = int(np.count_nonzero((ones == 0) | (ones == len(b))))
    return {"distinct": len(np.unique(packed, axis=0)), "stuck_bits": stuck}


# Codes "degenerate": a bit with one value over the whole database carries no information,
# fewer distinct database codes than DISTINCT_SHARE of the database merge most items, and an
# mAP@all within CHANCE_MARGIN of random ranking's (`chance_map`) retrieves nothing.
DISTINCT_SHARE = 0.05
CHANCE_MARGIN = 1.1


def chance_map(yq: np.ndarray, yb: np.ndarray, block: int = 256) -> float:
    """The mAP of a random ranking: each query's share of relevant database items (sharing a
    label), averaged over the queries (the expected precision at every rank)."""
    yb_t = yb.T.astype(np.float32)  # (C, nb)
    shares = [
        ((yq[i : i + block].astype(np.float32) @ yb_t) > 0).mean(axis=1)
        for i in range(0, len(yq), block)
    ]
    return float(np.concatenate(shares).mean())


def degenerate_reasons(
    bits: int, stuck_bits: int, distinct: int, nb: int, map_all: float, chance: float
) -> list[str]:
    """Why one method's codes of one run cannot be trusted (empty when they can): stuck
    bits, too few distinct codes, mAP at chance level. The evaluate stage logs them and the
    report lists them."""
    why = []
    if stuck_bits > 0:
        why.append(f"{stuck_bits} of {bits} bits stuck")
    if distinct < DISTINCT_SHARE * nb:
        why.append(f"{distinct} distinct codes for {nb} items")
    if map_all <= CHANCE_MARGIN * chance:
        why.append(f"mAP@all {map_all:.3f} at chance level ({chance:.3f} for a random ranking)")
    return why


def sign_to_bits(x: np.ndarray) -> np.ndarray:
    """Binarise real-valued codes: 1 where ``x >= 0``, else 0 (the paper's Eq. 19, sgn)."""
    x = np.asarray(x)
    if not np.isfinite(x).all():
        raise NRDHError("sign_to_bits: codes contain NaN or inf; the encoder output is broken")
    return (x >= 0).astype(np.uint8)


def as_packed(
    b: np.ndarray, bits: int | None = None, name: str = "codes"
) -> tuple[np.ndarray, int]:
    """Return ``(packed uint8 codes, bits)`` from 0/1 codes or from packed codes with ``bits``.

    With ``bits`` given, an array with ``bits`` columns is read as 0/1 codes and one with
    ``ceil(bits/8)`` columns as packed bytes (for ``bits = 1`` both coincide: read as 0/1).
    Padding bits past ``bits`` in packed input are cleared so they never count as distance.
    """
    b = _require_2d(b, name)
    if bits is None or b.shape[1] == bits:
        return pack_codes(b, name), b.shape[1]
    if b.shape[1] != n_bytes(bits) or b.dtype != np.uint8:
        raise NRDHError(
            f"{name}: for bits={bits} expected (n, {bits}) 0/1 codes or (n, {n_bytes(bits)}) "
            f"packed uint8 codes, got {b.dtype} {b.shape}"
        )
    return clear_padding(b, bits), bits


def clear_padding(packed: np.ndarray, bits: int) -> np.ndarray:
    """Zero the bits past ``bits`` in the last byte, so stray padding never adds distance."""
    if bits % 8 == 0:
        return packed
    packed = packed.copy()
    packed[:, -1] &= np.uint8((0xFF << (8 - bits % 8)) & 0xFF)
    return packed


def to_words(packed: np.ndarray) -> np.ndarray:
    """View packed codes as ``(n, ceil(bytes/8))`` uint64 words (zero padded) for XOR-popcount."""
    n, nbytes = packed.shape
    nw = (nbytes + 7) // 8
    words = np.zeros((n, nw * 8), dtype=np.uint8)
    words[:, :nbytes] = packed
    return words.view(np.uint64)
