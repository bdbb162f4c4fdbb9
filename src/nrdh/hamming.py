"""The Hamming distance kernel of code search and evaluation: popcount of XOR over the
64-bit words of `nrdh.codes.to_words`, compiled by numba.

Its own module so the stages that only write codes (baselines, the hash network's codes,
their merges) do not import numba (0.17 s a process).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, x):
    """LLVM ctpop on a uint64: one POPCNT instruction on x86."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(inline="always")
def hamming_words(qw: np.ndarray, i: int, bw: np.ndarray, j: int) -> int:
    """Hamming distance between word rows ``qw[i]`` and ``bw[j]`` (popcount of XOR)."""
    d = 0
    for w in range(qw.shape[1]):
        d += _popcount(qw[i, w] ^ bw[j, w])
    return d
