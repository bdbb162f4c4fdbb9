"""Time nrdh.optim against torch.optim: a fresh process's first optimiser, and steps after.

Each training stage is its own process, so what a stage pays is the time from `import torch`
to its first update; both optimisers then run the same per-tensor arithmetic. Each case runs
`--repeats` times in a new interpreter, alternating, and reports the median. Prints a
markdown table; ``--json`` also writes the numbers.

    python benchmarks/bench_optim.py                  # 5 processes each, 200 steps
    python benchmarks/bench_optim.py --repeats 9 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys

# One process: the default run's 32-bit digits GCN (64 -> 64 -> 64 -> 32 and back, on graphs
# of M = 10 nodes, 64 graphs a step), its first optimiser step, then `steps` more.
CASE = """
import json, sys, time
t0 = time.perf_counter()
import torch
from nrdh.models import GCNAutoencoder
if sys.argv[1] == "torch":
    make = torch.optim.Adam
else:
    from nrdh.optim import Adam as make
t_import = time.perf_counter()
torch.set_num_threads(1)
torch.manual_seed(0)
model = GCNAutoencoder(64, 32)
x, a = torch.randn(64, 10, 64), torch.softmax(torch.randn(64, 10, 10), -1)

def step(opt):
    _, x_hat = model(x, a)
    loss = (x_hat - x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()

opt = make(model.parameters(), lr=1e-3)
step(opt)
t_first = time.perf_counter()
for _ in range(int(sys.argv[2])):
    step(opt)
per_step_ms = 1e3 * (time.perf_counter() - t_first) / int(sys.argv[2])
print(json.dumps({"import_s": t_import - t0, "first_step_s": t_first - t_import,
                  "to_first_step_s": t_first - t0, "per_step_ms": per_step_ms,
                  "dynamo_imported": "torch._dynamo" in sys.modules}))
"""


def run_case(which: str, steps: int) -> dict:
    """One fresh interpreter running CASE with the named optimiser."""
    out = subprocess.run(
        [sys.executable, "-c", CASE, which, str(steps)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"torch": [], "nrdh": []}
    for _ in range(args.repeats):
        for which in runs:
            runs[which].append(run_case(which, args.steps))
    keys = ["import_s", "first_step_s", "to_first_step_s", "per_step_ms"]
    table = {w: {k: statistics.median(r[k] for r in rs) for k in keys} for w, rs in runs.items()}
    for w, rs in runs.items():
        table[w]["dynamo_imported"] = all(r["dynamo_imported"] for r in rs)
    print(f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"median of {args.repeats} processes each, {args.steps} steps after the first\n")
    header = ["optimiser", "imports (s)", "build + first step (s)", "start to first step (s)"]
    print("| " + " | ".join([*header, "per step (ms)", "torch._dynamo imported"]) + " |")
    print("|---" * 6 + "|")
    for w, row in table.items():
        name = "torch.optim.Adam" if w == "torch" else "nrdh.optim.Adam"
        print(
            f"| {name} | {row['import_s']:.2f} | {row['first_step_s']:.2f} | "
            f"{row['to_first_step_s']:.2f} | {row['per_step_ms']:.2f} | {row['dynamo_imported']} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"table": table, "runs": runs}, f, indent=2)


if __name__ == "__main__":
    main()
