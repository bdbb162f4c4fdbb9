"""CPU numerics pinned to one code path, so float results do not depend on the x86 CPU.

MKL, oneDNN, ATen and OpenBLAS each pick kernels for the CPU they find (vendor, AVX-512 or
not, cache sizes), and different kernels sum in different orders: the GCN, the hash network
and the PCA/ITQ/SH baselines then differ in their last bits, and a code bit whose projection
is near zero flips. Measured on this project (docs/RELIABILITY.md, "Across CPUs"):
MKL_CBWR, ONEDNN_MAX_CPU_ISA and OPENBLAS_CORETYPE each change the trained models or the
baseline codes on the same machine. The libraries read these variables when they load, so
`nrdh/__init__.py` calls `pin_cpu_numerics` before anything imports numpy or torch.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# The code path every AVX2 x86-64 CPU (Intel since 2013, AMD since 2015) runs the same way.
# MKL's Conditional Numerical Reproducibility "COMPATIBLE" branch is the one Intel documents
# as giving the same results on Intel and non-Intel processors; the other three cap the
# instruction set so an AVX-512 CPU runs the AVX2 kernels an AVX2-only CPU runs.
PINNED = {
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "OPENBLAS_CORETYPE": "Haswell",
}


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


def pin_cpu_numerics(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set PINNED in the environment on an AVX2 x86-64 CPU, keeping any value already set.

    A variable set by the user or the machine (an OPENBLAS_CORETYPE some OpenBLAS builds need
    on some CPUs) wins: that is the opt-out. Returns what was set.
    """
    env = os.environ if environ is None else environ
    if platform.machine() not in ("x86_64", "AMD64") or not {"avx2", "fma"} <= cpu_flags():
        return {}
    added = {k: v for k, v in PINNED.items() if k not in env}
    env.update(added)
    return added
