"""CPU numerics: the kernel pins (nrdh.numerics) and the bytes of the GCN and ITQ across
CPU dispatch settings.

The slow test runs the real stages (the default GCN on the digits, ITQ) in subprocesses under
this CPU's own kernel choice and under the choice of another CPU emulated with the
libraries' dispatch variables, with and without nrdh's pins.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, digits_workdir, overlay

from nrdh.numerics import DEFAULTED, OPT_OUT, PINNED, cpu_flags, pin_cpu_numerics

AVX2 = {"avx2", "fma"}
DISPATCH = (*PINNED, *DEFAULTED, "MKL_ENABLE_INSTRUCTIONS", OPT_OUT)
# Set by the machine (some OpenBLAS builds need it on some CPUs): tests leave it as it is.
MACHINE_CORETYPE = "OPENBLAS_CORETYPE" in os.environ
needs_avx2 = pytest.mark.skipif(not AVX2 <= cpu_flags(), reason="the pins apply on AVX2 CPUs")


def test_pins_override_the_environment_but_keep_the_machines_core_type():
    env = {"MKL_CBWR": "AUTO", "ATEN_CPU_CAPABILITY": "avx512", "OPENBLAS_CORETYPE": "Zen"}
    added = pin_cpu_numerics(env, AVX2)
    assert env == {**PINNED, "OPENBLAS_CORETYPE": "Zen"}
    assert added == PINNED
    fresh: dict[str, str] = {}
    assert pin_cpu_numerics(fresh, AVX2) == fresh == {**PINNED, **DEFAULTED}


def test_nothing_pinned_without_avx2_or_when_opted_out():
    env = {"MKL_CBWR": "AUTO"}
    assert pin_cpu_numerics(env, {"sse2", "avx"}) == {}
    assert pin_cpu_numerics({OPT_OUT: "1"}, AVX2) == {}
    assert env == {"MKL_CBWR": "AUTO"}


def test_cpu_flags_read_the_first_cpu(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nflags\t: other\n")
    assert cpu_flags(info) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_importing_nrdh_leaves_the_environment_alone():
    """Only the entry points pin: a program that imports nrdh (Snakemake) keeps its kernels."""
    probe = (
        "import os\n"
        "before = dict(os.environ)\n"
        "import nrdh, nrdh.params, nrdh.runner, nrdh.cli\n"
        "print(dict(os.environ) == before)"
    )
    env = {k: v for k, v in os.environ.items() if k not in DISPATCH}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def test_stage_scripts_load_neither_numpy_nor_torch_before_the_runner_pins():
    """Every stage imports the library inside its main, which `run` calls after the pins."""
    probe = (
        "import runpy, sys\n"
        "for script in sys.argv[1:]:\n"
        "    runpy.run_path(script, run_name='stage')\n"
        "print(sorted({'numpy', 'torch', 'scipy', 'sklearn'} & set(sys.modules)))"
    )
    scripts = sorted(map(str, (ROOT / "stages").glob("*.py")))
    assert len(scripts) > 10
    out = subprocess.run(
        [sys.executable, "-c", probe, *scripts], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@needs_avx2
def test_a_stage_process_runs_the_pinned_kernels():
    probe = (
        "from nrdh.runner import run\n"
        "def main():\n"
        "    import numpy, torch, threadpoolctl\n"
        "    print(torch.backends.cpu.get_cpu_capability())\n"
        "    print([i['architecture'] for i in threadpoolctl.threadpool_info()"
        " if i['internal_api'] == 'openblas'])\n"
        "run(main)"
    )
    env = {k: v for k, v in os.environ.items() if k not in (*PINNED, OPT_OUT)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "AVX2"
    expected = os.environ.get("OPENBLAS_CORETYPE", DEFAULTED["OPENBLAS_CORETYPE"])
    assert out[1] == repr([expected])


# What the libraries would pick on an AVX2-only CPU with one core: ATen, oneDNN and MKL capped
# at AVX2, OpenBLAS's Haswell kernels (unless the machine sets its core type), one thread.
ANOTHER_CPU = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    **({} if MACHINE_CORETYPE else {"OPENBLAS_CORETYPE": "Haswell"}),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
THIS_CPU = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """The default params on the digits alone, with their features and graphs."""
    d = tmp_path_factory.mktemp("numerics")
    digits_workdir(d, {"base": {**overlay({})["base"], "datasets": ["digits"]}})
    args = ["--variant", "nrdh", "--seed", "0", "--features", "features.h5"]
    stage_bytes(d, "build_graphs", {}, [*args, "--out", "graphs.h5"], "graphs.h5")
    return d


def stage_bytes(d: Path, name: str, dispatch: dict, args: list[str], out: str) -> str:
    """Run stages/<name>.py under `dispatch` (on top of an environment with no dispatch
    variables but the machine's core type) and return the MD5 of what it wrote to `out`."""
    env = {k: v for k, v in os.environ.items() if k not in DISPATCH or k in ("OPENBLAS_CORETYPE",)}
    if not MACHINE_CORETYPE:
        env.pop("OPENBLAS_CORETYPE", None)
    env.update(dispatch)
    cmd = [sys.executable, str(ROOT / "stages" / f"{name}.py"), *args]
    proc = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    digest = hashlib.md5()
    target = d / out
    for f in sorted(target.rglob("*")) if target.is_dir() else [target]:
        if f.is_file():
            digest.update(f.read_bytes())
    return digest.hexdigest()


def gcn_and_itq(d: Path, dispatch: dict, run: str) -> tuple[str, str]:
    """MD5s of the default GCNs and of the ITQ codes, at every length, under `dispatch`."""
    gcn = ["--variant", "nrdh", "--seed", "0", "--features", "features.h5"]
    gcn += ["--graphs", "graphs.h5", "--out", f"{run}/gcn/{{bits}}.pt"]
    gcn += ["--history", f"{run}/loss/{{bits}}.json", "--reps", f"{run}/reps/{{bits}}.h5"]
    itq = [
        "--method",
        "itq",
        "--seed",
        "0",
        "--features",
        "features.h5",
        "--out",
        f"{run}/itq/{{bits}}.h5",
    ]
    return (
        stage_bytes(d, "train_gcn", dispatch, gcn, f"{run}/gcn"),
        stage_bytes(d, "baseline_codes", dispatch, itq, f"{run}/itq"),
    )


@pytest.mark.slow
@needs_avx2
def test_gcn_and_itq_bytes_do_not_depend_on_cpu_dispatch(digits):
    here = gcn_and_itq(digits, THIS_CPU, "here")
    assert gcn_and_itq(digits, ANOTHER_CPU, "another") == here
    # The pins are what hold the bytes: without them, MKL runs its own branch for this CPU
    # (not the vendor-neutral one), so the GCN differs; on an AVX-512 CPU OpenBLAS's own
    # kernels (SkylakeX) give other ITQ codes than the Haswell kernels of an AVX2 CPU.
    native_here = gcn_and_itq(digits, {**THIS_CPU, OPT_OUT: "1"}, "native_here")
    assert native_here[0] != here[0]
    if "avx512f" in cpu_flags() and not MACHINE_CORETYPE:
        native_another = gcn_and_itq(digits, {**ANOTHER_CPU, OPT_OUT: "1"}, "native_another")
        assert native_another[1] != native_here[1]
