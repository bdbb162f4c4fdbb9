"""CPU numerics pinned to one code path, so float results do not depend on the x86 CPU.

MKL, oneDNN, ATen and OpenBLAS each pick kernels for the CPU they find (vendor, AVX-512 or
not, cache sizes), and different kernels sum in different orders: the GCN, the hash network
and the PCA/ITQ/SH baselines then differ in their last bits, and a code bit whose projection
is near zero flips. Measured on this project (docs/RELIABILITY.md, "Across CPUs"):
MKL_CBWR, ONEDNN_MAX_CPU_ISA, OPENBLAS_CORETYPE and OpenBLAS's thread count each change the
trained models or the baseline codes on the same machine. The libraries read these variables
when they load, so each entry point calls `pin_cpu_numerics` before numpy or torch load: the
stage runner (`nrdh.runner.run`, before the stage's main imports the library) and the `nrdh`
command. Importing nrdh sets nothing, so another program (Snakemake) keeps its own kernels.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

# The code path every AVX2 x86-64 CPU (Intel since 2013, AMD since 2015) runs the same way.
# MKL's Conditional Numerical Reproducibility "COMPATIBLE" branch is the one Intel documents
# as giving the same results on Intel and non-Intel processors; the other two cap the
# instruction set so an AVX-512 CPU runs the AVX2 kernels an AVX2-only CPU runs. Set over any
# value in the environment: these are nrdh's choice, not the machine's.
# OpenBLAS splits its LAPACK and GEMM work by thread count (1 or 2 threads gave other ITQ
# codes on the same CPU), so it runs one thread, as the torch stages do (`*.threads`).
PINNED = {
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "OPENBLAS_NUM_THREADS": "1",
}
# OpenBLAS (numpy, scipy) runs its Haswell kernels, unless the machine sets a core type
# itself (some OpenBLAS builds need one on some CPUs): that setting is kept.
DEFAULTED = {"OPENBLAS_CORETYPE": "Haswell"}
OPT_OUT = "NRDH_NATIVE_NUMERICS"  # =1: every library picks its own kernels for this CPU


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags of the first CPU in /proc/cpuinfo (empty where unreadable)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def pin_cpu_numerics(
    environ: MutableMapping[str, str] | None = None, flags: set[str] | None = None
) -> dict[str, str]:
    """Pin the CPU kernels of MKL, oneDNN, ATen and OpenBLAS (and its threads) on AVX2 x86-64.

    Nothing on other CPUs or with NRDH_NATIVE_NUMERICS=1; returns what was set.
    """
    env = os.environ if environ is None else environ
    flags = cpu_flags() if flags is None else flags
    if env.get(OPT_OUT) == "1" or not {"avx2", "fma"} <= flags:
        return {}
    added = {**PINNED, **{k: v for k, v in DEFAULTED.items() if k not in env}}
    env.update(added)
    return added
