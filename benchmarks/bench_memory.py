"""Peak memory of the streamed stages at n and factor x n images: it should barely grow.

A synthetic ``list`` dataset of random 32 x 32 RGB PNGs (10 classes, class-dependent
brightness; 10% queries, the rest database = train) is written for each size. Feature
extraction (pixels, z = 3,072), graph building, code computation (small_cnn hash network,
64 bits, trained once for one epoch at size n and reused) and evaluation then each run in a
fresh Python process, which reports its peak RSS (``ru_maxrss``) and its RSS right after
importing the stage's modules, so the stage's own working memory is the difference.

    .venv/bin/python benchmarks/bench_memory.py [--n 2000] [--factor 10] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("extract_features", "build_graphs", "compute_codes", "evaluate")
BITS = 64
SIDE = 32


def make_dataset(root: Path, n: int) -> None:
    """n random PNGs under root/images and the list files of a 10% query split."""
    from PIL import Image

    rng = np.random.default_rng(n)
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        c = i % 10
        pixels = rng.integers(0, 256 - 20 * c, (SIDE, SIDE, 3), dtype=np.uint8) + 20 * c
        Image.fromarray(pixels.astype(np.uint8)).save(root / "images" / f"{i}.png")
        lines.append(f"images/{i}.png " + " ".join("1" if k == c else "0" for k in range(10)))
    nq = n // 10
    (root / "test.txt").write_text("\n".join(lines[:nq]) + "\n")
    for name in ("database.txt", "train.txt"):
        (root / name).write_text("\n".join(lines[nq:]) + "\n")
    from nrdh.config import load_yaml

    params = load_yaml(ROOT / "params.yaml")  # the project's, with these changes
    changes = {
        "base": {"datasets": ["bench"]},
        "features": {"backbone": "pixels", "batch_size": 256, "device": "cpu"},
        "hasher": {"epochs": 1, "batch_size": 64, "device": "cpu", "checkpoint_every": 0},
        "codes": {"device": "cpu", "batch_size": 256},
        "evaluate": {"topk": 1000, "radius": 2, "ks": [100, 1000]},
    }
    for section, values in changes.items():
        params[section].update(values)
    params["datasets"] = {"bench": {"source": "list", "root": str(root)}}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_hasher(root: Path, model: Path) -> None:
    """A one-epoch hash network on random 64-bit targets (its weights do not matter here)."""
    from nrdh import io
    from nrdh.data import DatasetRef
    from nrdh.features_file import open_features
    from nrdh.hash_network import HasherJob
    from nrdh.params import load_params
    from nrdh.stages import train_hasher

    p = load_params(root / "params.yaml")
    with open_features(root / "features.h5") as feats:
        train = feats.split["train"]
    reps = root / "reps.h5"
    targets = np.random.default_rng(0).standard_normal((len(train), BITS)).astype(np.float32)
    with io.create_h5(reps, "node_reps", io.provenance({})) as f:
        f.create_dataset("train", data=train)
        f.create_dataset("reps", data=targets)
    job = HasherJob(
        out=model,
        history_out=root / "hasher.json",
        data=DatasetRef.of(p, "bench"),
        cfg=p.hasher,
        bits=BITS,
        seed=p.base.seed,
    )
    train_hasher.train_hasher_stage(reps_path=reps, job=job)


def run_stage(stage: str, root: Path, model: Path) -> dict[str, float]:
    """Run one stage on the dataset at root in this process; RSS after imports and at peak."""
    from nrdh.data import DatasetRef
    from nrdh.params import load_params  # torch-free

    p = load_params(root / "params.yaml")
    ds, seed, features = p.dataset("bench"), p.base.seed, root / "features.h5"
    if stage == "evaluate":
        from nrdh.stages import evaluate  # torch-free, as in the pipeline
    elif stage == "compute_codes":
        from nrdh.stages import compute_codes_shard
    else:
        from nrdh.stages import build_graphs, extract_features_shard
    imported = rss_mib()
    start = time.perf_counter()
    if stage == "extract_features":
        extract_features_shard.extract_features_stage(
            out=features, data=DatasetRef("bench", ds, seed), f_cfg=p.features
        )
    elif stage == "build_graphs":
        build_graphs.build_graphs_stage(
            features_path=features, out=root / "graphs.h5", cfg=p.graph, seed=seed
        )
    elif stage == "compute_codes":
        job = compute_codes_shard.CodesJob(features, "nrdh", DatasetRef("bench", ds, seed), p.codes)
        out = root / "codes" / f"{BITS}.h5"
        compute_codes_shard.compute_codes_stage(job, model_path=model, out=out, bits=BITS)
    else:
        args = evaluate.Args(
            dataset="bench",
            seed=seed,
            codes=str(root / "codes" / "{bits}.h5"),
            metrics=str(root / "eval_{bits}.json"),
            pr=str(root / "pr_{bits}.json"),
        )
        evaluate.evaluate_stage(args, bits=(BITS,), ds_cfg=ds, cfg=p.evaluate)
    seconds = time.perf_counter() - start
    return {"import_rss_mib": imported, "peak_rss_mib": rss_mib(), "seconds": seconds}


def in_child(*args: str) -> dict[str, float]:
    """Run this script with `args` in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure every stage at n and factor x n and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", choices=[*STAGES, "train_hasher"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "train_hasher":
        train_hasher(args.root, args.model)
        print("{}")
        return
    if args.child:
        print(json.dumps(run_stage(args.child, args.root, args.model)))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="nrdh-bench-memory-"))
    model = work / "hasher.pt"
    sizes = (args.n, args.n * args.factor)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for n in sizes:
        root = work / str(n)
        make_dataset(root, n)
        results[str(n)] = {}
        for stage in STAGES:
            if stage == "compute_codes" and not model.exists():
                in_child("--child", "train_hasher", "--root", str(root), "--model", str(model))
            child = ["--child", stage, "--root", str(root), "--model", str(model)]
            results[str(n)][stage] = in_child(*child)
    small, large = (results[str(n)] for n in sizes)
    print("| stage | n | RSS after imports (MiB) | peak RSS (MiB) | stage's own (MiB) | s |")
    print("|---|---|---|---|---|---|")
    for stage in STAGES:
        for n in sizes:
            r = results[str(n)][stage]
            own = r["peak_rss_mib"] - r["import_rss_mib"]
            print(
                f"| {stage} | {n:,} | {r['import_rss_mib']:.0f} | {r['peak_rss_mib']:.0f} | "
                f"{own:.0f} | {r['seconds']:.1f} |"
            )
    print()
    for stage in STAGES:
        growth = large[stage]["peak_rss_mib"] / small[stage]["peak_rss_mib"]
        print(f"{stage}: peak RSS at {sizes[1]:,} / at {sizes[0]:,} = {growth:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
