"""Where NRDH loses its edge (issue 12, item 3): three readings of the method, on validation.

An independent NRDH implementation differed from ours in three readings: Eq. 6 as the
per-sample squared norm (`gcn.recon_reduction: node`), the GCN trained with Adam at 3e-3
until its loss plateaus (up to 300 epochs), and the BCE target taken from sign(g(x))
(`hasher.bce_target: node`). This runs NRDH and NRDH without GCN under each reading alone
and all three combined, and splits every run's mAP with `nrdh.diagnostics`: sign(g(x)) on
the training images (taught), the network's codes on them (learnt), the validation mAP, the
bit agreement taught/learnt, beta * Lw / L1 and the epochs of the GCN's last epoch.

Validation protocol (the real queries are never used): variants_study's `--split val`, 20
training images per class (seeded) become queries, the other training images are database
and training set. The stages are the library's, run in one process through
variants_study.Study (artifacts cached by the params they depend on).

    .venv/bin/python benchmarks/gap_study.py --seeds 0 1 2 --markdown gap.md --json gap.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from variants_study import Study, mean_std, quiet

from nrdh.params import load_params
from nrdh.pipeline.diagnose import RunFiles, diagnose_stage

PLATEAU = {"lr": 0.003, "stop": "plateau", "epochs": 300}
# Each reading: section overrides on top of params.yaml (today's reading = none).
READINGS: dict[str, dict[str, dict[str, Any]]] = {
    "ours": {},
    "eq6_node": {"gcn": {"recon_reduction": "node"}},
    "plateau": {"gcn": PLATEAU},
    "bce_node": {"hasher": {"bce_target": "node"}},
    "all_three": {
        "gcn": {**PLATEAU, "recon_reduction": "node"},
        "hasher": {"bce_target": "node"},
    },
}
COLUMNS = (
    ("map_test", "val mAP@all"),
    ("map_target", "taught mAP"),
    ("map_network", "learnt mAP"),
    ("bit_agreement", "bit agreement"),
    ("reg_share", "beta Lw / L1"),
    ("epochs_run", "GCN epochs"),
)


def variants(hasher_epochs: int | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Every reading with and without GCN (U' = I) as named variants ("gap_<reading>[_nogcn]")."""
    out = {}
    for name, overrides in READINGS.items():
        hasher = {
            **overrides.get("hasher", {}),
            **({"epochs": hasher_epochs} if hasher_epochs else {}),
        }
        for suffix, identity in (("", False), ("_nogcn", True)):
            gcn = {**overrides.get("gcn", {}), "identity_graph": identity}
            out[f"gap_{name}{suffix}"] = {**overrides, "gcn": gcn, "hasher": hasher}
    return out


def diagnose(study: Study, name: str, bits: int) -> dict[str, Any]:
    """Train variant `name` through `study` (cached) and diagnose it: the report's numbers."""
    study.variant(name, bits)
    p, seed = study.params.variant(name), study.seed
    graphs = study._path("graphs", p, "", 0).with_suffix(".h5")
    gcn = study._path("gcn", p, graphs.name, bits).with_suffix(".pt")
    reps = study._path("reps", p, gcn.name, bits).with_suffix(".h5")
    hasher = study._path("hasher", p, reps.name, bits).with_suffix(".pt")
    out = hasher.with_suffix(".diag.json")
    quiet(
        diagnose_stage,
        runs=[
            RunFiles(
                reps,
                hasher,
                hasher.with_suffix(".codes") / f"{bits}.h5",
                gcn.with_suffix(".json"),
                out,
            )
        ],
        features_path=study.features,
        dataset=study.dataset,
        ds_cfg=study.ds_cfg,
        codes_cfg=p.codes,
        eval_cfg=p.evaluate,
        gcn_cfg=p.gcn,
        data_seed=seed,
    )
    report = json.loads(out.read_text())
    return {
        **{k: report[k] for k in ("map_test", "map_target", "map_network", "bit_agreement")},
        "reg_share": report["gcn"]["reg_share"],
        "epochs_run": report["gcn"]["epochs_run"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per dataset, one row per (reading, GCN or not), mean +- std over seeds."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        out.append(f"\n**{ds}**\n")
        out.append("| reading | GCN | " + " | ".join(t for _, t in COLUMNS) + " |")
        out.append("|---|---|" + "---|" * len(COLUMNS))
        for reading in READINGS:
            for gcn in (True, False):
                sel = [
                    r for r in rows if (r["dataset"], r["reading"], r["gcn"]) == (ds, reading, gcn)
                ]
                if sel:
                    cells = [mean_std([r[k] for r in sel]) for k, _ in COLUMNS]
                    out.append(
                        f"| {reading} | {'yes' if gcn else 'no'} | " + " | ".join(cells) + " |"
                    )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--datasets", nargs="+", default=["digits"])
    ap.add_argument("--bits", type=int, default=32)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--readings", nargs="+", default=list(READINGS), choices=READINGS)
    ap.add_argument("--hasher-epochs", type=int, help="hash network epochs (default: params)")
    ap.add_argument("--workdir", help="keep artifacts here (default: a temporary folder)")
    ap.add_argument("--json", help="also write every row to this file (updated as rows come)")
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = load_params(args.params)
    params = dataclasses.replace(
        params, variants={**params.variants, **variants(args.hasher_epochs)}
    )
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for ds in args.datasets:
            for seed in args.seeds:
                study = Study(params, ds, seed, work, "val")
                for reading in args.readings:
                    for gcn in (True, False):
                        t0 = time.perf_counter()
                        name = f"gap_{reading}{'' if gcn else '_nogcn'}"
                        r = diagnose(study, name, args.bits)
                        rows.append(
                            {"dataset": ds, "seed": seed, "reading": reading, "gcn": gcn, **r}
                        )
                        print(
                            f"{ds} seed {seed} {name:22s} val {r['map_test']:.4f} taught "
                            f"{r['map_target']:.4f} learnt {r['map_network']:.4f} agree "
                            f"{r['bit_agreement']:.3f} reg {r['reg_share']:.4f} epochs "
                            f"{r['epochs_run']} ({time.perf_counter() - t0:.0f} s)",
                            flush=True,
                        )
                        if args.json:
                            Path(args.json).write_text(json.dumps({"rows": rows}, indent=1))
    elapsed = time.perf_counter() - start
    footer = (
        f"\nvalidation split (20 training images per class as queries); {args.bits} bits; "
        f"seeds {args.seeds}; hash network epochs "
        f"{args.hasher_epochs or params.hasher.epochs}; {elapsed / 60:.1f} min on "
        f"{os.cpu_count()} CPU cores ({platform.machine()}), torch threads 1"
    )
    text = table(rows) + footer
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "seconds": elapsed}, indent=1))


if __name__ == "__main__":
    main()
