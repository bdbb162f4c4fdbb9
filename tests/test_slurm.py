"""Runs workflows through a real SLURM with the profile workflow/profiles/slurm.

Needs the loopback cluster of .ci/slurm/start.sh (root, Debian) and NRDH_SLURM_TEST=1;
otherwise the SLURM tests skip. The node has no GPUs, so every rule that may ask for one is
overridden to gpu=0 here, exactly as a user without GPUs would do on the command line.
(Which rules ask for a GPU is tested without SLURM in tests/test_workflow.py.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_project

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "workflow" / "profiles" / "slurm"
GPU_RULES = ("extract_features_shard", "train_hasher", "compute_codes_shard", "diagnose")
CPU_RULES = (
    "train_feature_net",  # writes none.json for pixel features (a GPU only for simclr)
    "train_gcn",
    "extract_features",
    "feature_stats",
    "build_graphs",
    "compute_codes",
    "baseline_codes",
    "evaluate",
    "summarize",
    "retrieval_grid",
)
# The loopback node has no GPU, 2 CPUs and a few GB: shrink every pipeline job to fit.
LOOPBACK_FIT = ("gpu=0", "cpus_per_task=1", "mem_mb=1000")
TOY_TIMEOUT_S = 180
PIPELINE_TIMEOUT_S = 900
POLL_S = 0.5

needs_slurm = pytest.mark.skipif(
    os.environ.get("NRDH_SLURM_TEST") != "1",
    reason="needs a running SLURM: `bash .ci/slurm/start.sh`, then NRDH_SLURM_TEST=1",
)

# Two rules named like pipeline rules, so that the overrides for pipeline rules apply;
# each output records the SLURM job that wrote it.
TOY_SNAKEFILE = """
rule all:
    input: "evaluate.txt"

rule extract_features:
    output: "extract_features.txt"
    threads: 2
    resources: mem_mb=100, runtime=5
    shell: "echo $SLURM_JOB_ID $SLURM_CPUS_PER_TASK > {output}"

rule evaluate:
    input: "extract_features.txt"
    output: "evaluate.txt"
    resources: mem_mb=100, runtime=5
    shell: "echo $SLURM_JOB_ID $SLURM_CPUS_PER_TASK > {output}"
"""


def snakemake_slurm_command(timeout_s: int, set_resources: list[str]) -> list[str]:
    """The CI invocation: the SLURM profile, fast squeue status checks, resource overrides."""
    return [
        "timeout", "-s", "KILL", str(timeout_s),
        sys.executable, "-m", "snakemake",
        "--profile", str(PROFILE),
        "--slurm-init-seconds-before-status-checks", "1",
        # No slurmdbd on the loopback cluster: sacct fails there, squeue works.
        "--slurm-status-command", "squeue",
        "--slurm-keep-successful-logs",
        "--set-resources", *set_resources,
    ]  # fmt: skip


def squeue_rows(*args: str) -> list[list[str]]:
    """[job id, state, comment (the plugin writes rule_<name>...)] rows that squeue reports."""
    out = subprocess.run(
        ["squeue", "--noheader", "--format=%i|%T|%k", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("|", 2) for line in out.splitlines()]


def run_watching_queue(cmd: list[str], cwd: Path) -> tuple[int, str, dict[str, list[str]]]:
    """Run cmd in cwd; return its exit code, its output and each job's states seen queued."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    log = cwd / "snakemake.out"
    seen: dict[str, list[str]] = {}
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while proc.poll() is None:
                for job, state, _ in squeue_rows():
                    states = seen.setdefault(job, [])
                    if state not in states:
                        states.append(state)
                time.sleep(POLL_S)
        finally:
            if proc.poll() is None:  # squeue failed: kill timeout and Snakemake with it
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return proc.returncode, log.read_text(), seen


def check_jobs_went_through_slurm(output: str, seen: dict[str, list[str]]) -> list[str]:
    """Assert each submitted job was seen queued and ended COMPLETED; return the job ids."""
    run_id = re.search(r"SLURM run ID: (\S+)", output)
    assert run_id, "no 'SLURM run ID' in Snakemake's output"
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    assert job_ids, "Snakemake submitted no SLURM jobs"
    final = {
        job: (state, comment)
        for job, state, comment in squeue_rows("--states=all", f"--name={run_id[1]}")
    }
    for job in job_ids:
        state, comment = final.get(job, ("not in squeue", ""))
        states = seen.get(job, [])
        print(f"SLURM job {job} {comment}: seen {' '.join(states)}; finally {state}")
        assert {"PENDING", "RUNNING"} & set(states), f"job {job} never seen queued"
        assert state == "COMPLETED", f"job {job} ended {state}"
    return job_ids


@pytest.mark.slurm
@needs_slurm
def test_toy_workflow_runs_as_slurm_jobs(tmp_path: Path) -> None:
    """Both toy rules run as SLURM jobs that pass through the queue and complete."""
    (tmp_path / "Snakefile").write_text(TOY_SNAKEFILE)
    started = time.monotonic()
    no_gpus = [f"{rule}:gpu=0" for rule in GPU_RULES]
    code, output, seen = run_watching_queue(
        snakemake_slurm_command(TOY_TIMEOUT_S, no_gpus), tmp_path
    )
    print(f"toy workflow through SLURM: exit {code} after {time.monotonic() - started:.1f} s")
    assert code == 0, output
    job_ids = check_jobs_went_through_slurm(output, seen)
    assert len(job_ids) == 2, output
    written = {
        rule: (tmp_path / f"{rule}.txt").read_text().split()
        for rule in ("extract_features", "evaluate")
    }
    # Each output names its own job, and threads became SLURM's cpus-per-task.
    assert written == {
        "extract_features": [job_ids[0], "2"],
        "evaluate": [job_ids[1], "1"],
    }
    for job in job_ids:
        assert list((tmp_path / ".snakemake" / "slurm_logs").glob(f"rule_*/{job}.log"))


@pytest.mark.slurm
@pytest.mark.slow
@needs_slurm
def test_tiny_pipeline_runs_as_slurm_jobs(tmp_path: Path, tiny_params: Path) -> None:
    """Every job of the tiny pipeline runs as a SLURM job; the summary gets written."""
    project = make_project(tmp_path / "project", tiny_params)
    fit = [f"{rule}:{res}" for rule in GPU_RULES + CPU_RULES for res in LOOPBACK_FIT]
    started = time.monotonic()
    code, output, seen = run_watching_queue(
        snakemake_slurm_command(PIPELINE_TIMEOUT_S, fit), project
    )
    print(f"tiny pipeline through SLURM: exit {code} after {time.monotonic() - started:.1f} s")
    assert code == 0, output
    job_ids = check_jobs_went_through_slurm(output, seen)
    planned = re.search(r"^total\s+(\d+)$", output, flags=re.M)
    assert planned, output
    # Every job but the local target rule `all` went to SLURM.
    assert len(job_ids) == int(planned[1]) - 1
    logs = project / ".snakemake" / "slurm_logs"
    assert {d.name for d in logs.iterdir()} == {f"rule_{rule}" for rule in GPU_RULES + CPU_RULES}
    assert (project / "metrics" / "summary.json").is_file()
