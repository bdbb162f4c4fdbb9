"""`dvc repro` one stage at a time, in DVC's order, with each stage's wall time.

Run in a project folder whose params.yaml is the scenario to time (for the scale scenario:
`nrdh preset presets/scale_cpu.yaml`, docs/SCALE.md). Prints a Markdown table as it goes,
so a long run that is stopped still shows the stages it finished, and each stage's own
output (its progress bars) as it runs.

    python benchmarks/time_stages.py [--out times.md]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def stage_order() -> list[str]:
    """Every stage of ./dvc.yaml, dependencies first (DVC's own graph)."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo(".") as repo:
        return [s.addressing for s in reversed(list(nx.topological_sort(repo.index.graph)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    dvc = str(Path(sys.executable).with_name("dvc"))
    lines = ["| stage | seconds |", "|---|---|"]
    start = time.perf_counter()
    for stage in stage_order():
        t0 = time.perf_counter()
        # the stage's own output (its progress bars) streams through, as under `dvc repro`
        proc = subprocess.run([dvc, "repro", "-s", stage])
        lines.append(f"| {stage} | {time.perf_counter() - t0:.1f} |")
        print(lines[-1], flush=True)
        if proc.returncode:
            sys.exit(f"error: stage {stage} failed (exit {proc.returncode}; its output is above)")
    lines.append(f"| total | {time.perf_counter() - start:.1f} |")
    print(lines[-1])
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
