"""Where the wall time of the default `dvc repro` goes: process start-up, imports, compute, DVC.

Clones a commit of this repository into a scratch folder, times `dvc repro` there (from a
fresh clone: no cache), then re-runs every stage's own command in DVC's order and times it,
with the import time of its script (`python -X importtime`, top-level modules) and whether
it imports torch. DVC's own time is the repro's wall time minus the commands' sum.

The repro also reports CPU seconds (user + sys), split into DVC's own process and the stage
commands it ran: on a machine shared with other jobs wall time follows their load, CPU time
much less, so before/after comparisons there use CPU.

    python benchmarks/bench_default_run.py --rev HEAD --json before_after.json

Prints a table per stage group: processes, command seconds, import seconds, torch or not.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `dvc <args>` in a child interpreter that prints, last on stderr, the CPU seconds of DVC's
# own process and of the stage commands it ran (its waited-for children), as JSON.
DVC_WITH_CPU = (
    "import json, resource, sys; from dvc.cli import main; rc = main(sys.argv[1:]); "
    "cpu = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]; "
    "print(json.dumps([round(r.ru_utime + r.ru_stime, 1) for r in cpu]), file=sys.stderr); "
    "sys.exit(rc)"
)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """(wall seconds, stderr) of a command that must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - start, proc.stderr


def repro(work: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, DVC's own CPU seconds, the stage commands' CPU seconds) of `dvc repro`."""
    seconds, err = timed([sys.executable, "-c", DVC_WITH_CPU, "repro", "-q"], work, env)
    own, commands = json.loads(err.strip().splitlines()[-1])
    return seconds, own, commands


def import_profile(script: str, cwd: Path, env: dict[str, str]) -> tuple[float, bool]:
    """(seconds of top-level imports, whether torch is imported at all) of `script --help`."""
    _, err = timed([sys.executable, "-X", "importtime", script, "--help"], cwd, env)
    rows = [line.split("|") for line in err.splitlines() if line.startswith("import time:")]
    top = [(int(r[1]), r[2]) for r in rows[1:] if not r[2].startswith("  ")]
    return sum(us for us, _ in top) / 1e6, any(r[2].strip() == "torch" for r in rows[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to measure")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument(
        "--built", type=Path, help="profile the commands of this already-built clone (no repro)"
    )
    parser.add_argument(
        "--repro-only", action="store_true", help="time the two repros, skip the profile"
    )
    args = parser.parse_args()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    repro_s = noop_s = dvc_cpu = commands_cpu = float("nan")
    if args.built:
        work = args.built.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="nrdh-bench-")) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
        subprocess.run(["git", "checkout", "-q", args.rev], cwd=work, check=True)
    env["PYTHONPATH"] = str(work / "src")
    if not args.built:
        repro_s, dvc_cpu, commands_cpu = repro(work, env)
        noop_s, _, _ = repro(work, env)
    cpu = f"CPU: DVC itself {dvc_cpu:.1f} s, stage commands {commands_cpu:.1f} s"
    if args.repro_only:
        print(f"dvc repro from a fresh clone: {repro_s:.1f} s ({cpu}); no-op: {noop_s:.1f} s")
        return
    from dvc.repo import Repo

    with Repo(str(work)) as repo:  # the stages dvc.yaml declares now, in DVC's order
        stages = {s.name: {"cmd": s.cmd} for s in repo.index.stages}
    groups: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    imports: dict[str, tuple[float, bool]] = {}
    for name, stage in stages.items():
        group, cmd = name.split("@")[0], stage["cmd"]
        argv = shlex.split(cmd)
        seconds, _ = timed([sys.executable, *argv[1:]], work, env)
        if group not in imports:
            imports[group] = import_profile(argv[1], work, env)
        groups[group]["processes"] += 1
        groups[group]["seconds"] += seconds
        groups[group]["import_seconds"] += imports[group][0]
    total = sum(g["seconds"] for g in groups.values())
    print(f"dvc repro from a fresh clone: {repro_s:.1f} s ({cpu}); no-op repro: {noop_s:.1f} s")
    # Every stage's command, those a fresh repro skips (committed outputs that match) included,
    # so the sum is no measure of DVC's share: the CPU split above is.
    print(f"every stage command re-run alone: {total:.1f} s in {len(stages)} processes")
    print("| stage | processes | seconds | of which imports | imports torch |")
    print("|---|---|---|---|---|")
    for group, g in groups.items():
        print(
            f"| {group} | {int(g['processes'])} | {g['seconds']:.1f} | "
            f"{g['import_seconds']:.1f} | {'yes' if imports[group][1] else 'no'} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rev": args.rev,
                    "repro_s": repro_s,
                    "repro_cpu_s": {"dvc": dvc_cpu, "commands": commands_cpu},
                    "noop_s": noop_s,
                    "commands_s": total,
                    "groups": {k: dict(v) for k, v in groups.items()},
                    "imports_torch": {k: v[1] for k, v in imports.items()},
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
