"""Interruption: a training stage killed with SIGKILL resumes from its checkpoint to the same bytes,
and Ctrl-C stops one with a single `error:` line and exit code 130.

The unit tests drive `nrdh.train.fit` in-process; the slow tests run the real stage scripts,
kill them once their `<out>.ckpt` appears, and compare the resumed artifact with an
uninterrupted run's, byte for byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import ROOT, digits_workdir, overlay
from torch import nn

from nrdh.errors import NRDHError
from nrdh.train import epoch_generator, fit

# One thread per stage: the machine's cores are shared, and thread contention only slows
# the runs down (both runs of a comparison use the same setting).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
# What the resume runs change in params.yaml (`overlay` makes the full file).
TINY = {
    "base": {"datasets": ["digits"], "bits": [16], "methods": ["nrdh"]},
    "variants": {"nrdh": {}},
    "datasets": {"digits": {"source": "digits", "query_per_class": 5}},
    "features": {"backbone": "pixels"},
    "gcn": {"epochs": 2, "graphs_per_step": 32, "checkpoint_every": 0},
    # augment: random crops draw from the global RNG, so resuming must replay them too
    "hasher": {"epochs": 8, "batch_size": 64, "checkpoint_every": 2, "augment": True},
    "grid": {"bits": 16},
}


class Interrupted(Exception):
    """Stands in for a kill in the in-process tests."""


def toy_fit(ckpt: Path, epochs: int, stop_at: int | None = None, run_id: str = "a") -> nn.Module:
    """Fit a 3 -> 2 linear map for `epochs` on seeded random batches, raising at `stop_at`."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)

    def run_epoch(epoch: int) -> dict[str, float]:
        if epoch == stop_at:
            raise Interrupted
        x = torch.randn(8, 3, generator=epoch_generator(0, epoch))
        loss = (model(x) - x[:, :2]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    fit(model, opt, epochs, run_epoch, ckpt, 2, run_id, "toy")
    return model


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(
        torch.equal(x, y)
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_fit_resumes_to_the_uninterrupted_weights(tmp_path):
    full = toy_fit(tmp_path / "full.ckpt", 6)
    ckpt = tmp_path / "cut.ckpt"
    with pytest.raises(Interrupted):
        toy_fit(ckpt, 6, stop_at=3)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 2
    resumed = toy_fit(ckpt, 6)
    assert same_weights(full, resumed)
    assert not ckpt.exists()  # removed once training completes


def test_fit_ignores_a_checkpoint_of_another_run(tmp_path):
    ckpt = tmp_path / "x.ckpt"
    with pytest.raises(Interrupted):
        toy_fit(ckpt, 6, stop_at=3, run_id="other params")
    assert same_weights(toy_fit(ckpt, 6), toy_fit(tmp_path / "fresh.ckpt", 6))


def test_unreadable_checkpoint_is_named(tmp_path):
    ckpt = tmp_path / "x.ckpt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(NRDHError, match=r"x\.ckpt: not a valid toy resume checkpoint .*delete it"):
        toy_fit(ckpt, 4)


def stage(name: str, cwd: Path, *args: str | Path) -> list[str]:
    """The command line of stages/<name>.py with the project's interpreter."""
    return [sys.executable, str(ROOT / "stages" / f"{name}.py"), *map(str, args)]


def run_ok(cmd: list[str], cwd: Path) -> str:
    """Run a stage to completion; return its stdout."""
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def signal_after_checkpoint(cmd: list[str], cwd: Path, ckpt: Path, sig: int) -> tuple[int, str]:
    """Start a stage, send it `sig` as soon as its first checkpoint exists; (exit code, stderr)."""
    log = ckpt.parent.parent / f"{ckpt.parent.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 240
        while not ckpt.exists():
            assert proc.poll() is None, f"ended before its first checkpoint: {log.read_text()}"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.01)
        proc.send_signal(sig)
        proc.wait(timeout=120)
    return proc.returncode, log.read_text()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A working directory with params, features, graphs, a short GCN and its node reps."""
    d = tmp_path_factory.mktemp("resume")
    digits_workdir(d, TINY)
    v = ("--variant", "nrdh", "--features", "features.h5")
    run_ok(stage("build_graphs", d, *v, "--seed", 0, "--out", "graphs.h5"), d)
    g = (*v, "--graphs", "graphs.h5")
    run_ok(
        stage(
            "train_gcn",
            d,
            *g,
            "--seed",
            0,
            "--out",
            "gcn{bits}.pt",
            "--history",
            "gcn{bits}.json",
            "--reps",
            "reps{bits}.h5",
        ),
        d,
    )
    long_gcn = {**TINY, "gcn": {"epochs": 30, "graphs_per_step": 32, "checkpoint_every": 3}}
    (d / "long_gcn.yaml").write_text(yaml.safe_dump(overlay(long_gcn)))
    return d


STAGES = {  # params file, flags, and the outputs besides model.pt and history.json
    "train_gcn": (
        "long_gcn.yaml",
        "--variant nrdh --features features.h5 --graphs graphs.h5 --seed 0".split(),
        ("reps.h5",),
    ),
    "train_hasher": (
        "params.yaml",
        "--variant nrdh --dataset digits --seed 0 --bits 16 --reps reps16.h5".split(),
        (),
    ),
}


def files(name: str, bits: int | None = None) -> dict[str, str]:
    """Each output flag of stage `name` -> its file name. train_gcn writes every code length
    of base.bits, so its flags are path templates (field bits), filled in with `bits` when
    given; train_hasher's are plain names."""
    field = "{bits}" if name == "train_gcn" else ""
    names = {"out": "model.pt", "history": "history.json"}
    names |= {Path(f).stem: f for f in STAGES[name][2]}
    named = {flag: f"{Path(f).stem}{field}{Path(f).suffix}" for flag, f in names.items()}
    return {flag: f.format(bits=bits) for flag, f in named.items()} if bits else named


def outputs(name: str, folder: Path | str) -> list[str]:
    """The output flags of stage `name` with every file in `folder`."""
    return [f"--{flag}={folder}/{f}" for flag, f in files(name).items()]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STAGES))
def test_killed_training_stage_resumes_to_identical_bytes(project, name):
    params, args, _ = STAGES[name]

    def command(run: str) -> list[str]:
        return stage(name, project, "--params", params, *args, *outputs(name, f"{name}/{run}"))

    run_ok(command("full"), project)
    killed = project / name / "killed"
    written = files(name, 16)  # base.bits: [16]
    ckpt = killed / f"{written['out']}.ckpt"
    code, _ = signal_after_checkpoint(command("killed"), project, ckpt, signal.SIGKILL)
    assert code == -signal.SIGKILL
    # Nothing a later stage would read: no model, no history; only the checkpoint (and
    # possibly a dot-prefixed temp file of a write the kill cut short).
    assert sorted(p.name for p in killed.iterdir() if not p.name.startswith(".")) == [ckpt.name]

    stdout = run_ok(command("killed"), project)
    assert f"resuming from {name}/killed/{ckpt.name} at epoch" in stdout
    for artifact in (written["out"], written["history"]):  # the reps record their model's path
        assert (killed / artifact).read_bytes() == (project / name / "full" / artifact).read_bytes()
    assert not ckpt.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STAGES))
def test_ctrl_c_stops_a_training_stage_with_one_line(project, name):
    params, args, _ = STAGES[name]
    out = project / name / "interrupted"
    ckpt = out / f"{files(name, 16)['out']}.ckpt"
    cmd = stage(name, project, "--params", params, *args, *outputs(name, out))
    code, stderr = signal_after_checkpoint(cmd, project, ckpt, signal.SIGINT)
    assert code == 130
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if "error" in line]
    assert "Traceback" not in stderr and len(lines) == 1
    assert lines[0].startswith(f"error: {ROOT.as_posix()}/stages/{name}.py: interrupted (Ctrl-C)")
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [ckpt.name]
