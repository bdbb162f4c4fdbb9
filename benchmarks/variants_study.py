"""NRDH beside its ablation, its extensions and the classic baselines, in one process.

For each dataset, seed and code length this runs the library's stage functions directly
(features once per dataset and seed; then per variant: graphs, GCN, node representations,
hash network, codes, evaluation) into a temporary folder, and prints a Markdown table of
mAP@all and mAP@K, with mean +- std over seeds. Stages shared by variants (for example the
graphs of ``nrdh`` and ``center``) are computed once: each artifact is keyed by the params
it depends on.

``--split val`` evaluates on a validation protocol carved out of the training split (20
training images per class become queries, the other training images are both database and
training set), so settings can be compared without looking at the real queries.

    .venv/bin/python benchmarks/variants_study.py                     # the default study
    .venv/bin/python benchmarks/variants_study.py --variants nrdh plus_m50 --bits 32 \
        --seeds 0 --split val --json val.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import contextlib
import dataclasses
import hashlib
import io as stdio
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from nrdh.config import as_dict
from nrdh.params import Params, load_params
from nrdh.pipeline import autoencoder, baseline_codes, evaluation, hashing, representation

# Each variant: overrides of params.yaml sections. The first two are the paper and its
# Table 7 ablation; then the three extensions alone, their combinations, and hash-side
# settings explored on the validation protocol.
KMEANS = {"batching": "kmeans"}
RHOQ = {"rho_mode": "quantile"}
CENTER = {"node_reps": {"center": True}}
NOGCN = {"gcn": {"identity_graph": True}}
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "nrdh": {},
    "nrdh_nogcn": NOGCN,
    "kmeans": {"graph": KMEANS},
    "center": CENTER,
    "rhoq": {"graph": RHOQ},
    "kmeans_center": {"graph": KMEANS, **CENTER},
    "kmeans_rhoq": {"graph": {**KMEANS, **RHOQ}},
    "center_rhoq": {"graph": RHOQ, **CENTER},
    "kmeans_center_rhoq": {"graph": {**KMEANS, **RHOQ}, **CENTER},
    "nogcn_center": {**NOGCN, **CENTER},
    "plus_node": {"graph": KMEANS, **CENTER, "hasher": {"bce_target": "node"}},
    "plus_m50": {"graph": {**KMEANS, "M": 50}, **CENTER},
    "plus_parts": {"graph": {**KMEANS, "partitions": 5}, **CENTER},
    "plus_h60": {"graph": KMEANS, **CENTER, "hasher": {"epochs": 60}},
    "plus_rho02": {"graph": {**KMEANS, "rho": 0.2}, **CENTER},
}
BASELINES = ("lsh", "pcah", "itq", "sh", "random")
DEFAULT_VARIANTS = tuple(k for k in VARIANTS if not k.startswith("plus_"))
CORE = ("nrdh", "nrdh_nogcn", "center", "kmeans_center")  # kmeans_center = params.yaml's nrdh_plus
SEED_VARIANTS = ("nrdh", "nrdh_nogcn", "center", "kmeans_center")

# The sections each artifact depends on (beyond dataset, seed and its upstream artifact).
STAGE_KEYS = {
    "graphs": ("graph",),
    "gcn": ("gcn",),
    "reps": ("node_reps",),
    "hasher": ("hasher",),
}


def digest(*parts: Any) -> str:
    return hashlib.md5(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def quiet(fn, **kwargs) -> None:
    """Run a stage function with its progress prints swallowed."""
    with contextlib.redirect_stdout(stdio.StringIO()):
        fn(**kwargs)


def validation_features(src: Path, out: Path, seed: int, per_class: int) -> None:
    """A copy of features.h5 whose queries are `per_class` training images of each class
    (seeded) and whose database and training set are the other training images."""
    shutil.copyfile(src, out)
    with h5py.File(out, "r+") as f:
        train = f["train"][()]
        labels = f["labels"][()][train]
        rng = np.random.default_rng([seed, 7])
        first = labels.argmax(1)  # a multi-label item counts for its first class
        query = np.sort(
            np.concatenate(
                [rng.permutation(np.flatnonzero(first == c))[:per_class] for c in np.unique(first)]
            )
        )
        rest = np.setdiff1d(np.arange(len(train)), query)
        for name, idx in (
            ("query", train[query]),
            ("database", train[rest]),
            ("train", train[rest]),
        ):
            del f[name]
            f.create_dataset(name, data=idx.astype(np.int64))


class Study:
    """Runs and caches the stages of one dataset and seed in a work folder."""

    def __init__(self, params: Params, dataset: str, seed: int, work: Path, split: str):
        # the study's variants join params.yaml's, so `Params.variant` applies (and checks)
        # their overrides as the pipeline does
        self.params = dataclasses.replace(params, variants={**params.variants, **VARIANTS})
        self.dataset, self.seed, self.work = dataset, seed, work
        self.ds_cfg = params.dataset(dataset)
        self.features = work / f"features_{dataset}_{seed}.h5"
        if not self.features.exists():
            quiet(
                representation.extract_features_stage,
                out=self.features,
                dataset=dataset,
                ds_cfg=self.ds_cfg,
                f_cfg=params.features,
                seed=seed,
            )
            if split == "val":
                test = self.features.with_suffix(".test.h5")
                self.features.rename(test)
                validation_features(test, self.features, seed, 20)

    def _path(self, stage: str, params: Params, upstream: str, bits: int) -> Path:
        sections = [as_dict(getattr(params, k)) for k in STAGE_KEYS[stage]]
        key = digest(self.dataset, self.seed, bits, upstream, sections)
        return self.work / f"{stage}_{key}"

    def evaluate(self, codes: Path, bits: int) -> dict[str, float]:
        """mAP of the `bits`-bit codes in folder `codes` (<bits>.h5; metrics written beside)."""
        metrics = codes / f"eval_{bits}.json"
        if not metrics.exists():
            quiet(
                evaluation.evaluate_stage,
                codes_dir=codes,
                metrics_dir=codes,
                pr_dir=codes,
                dataset=self.dataset,
                bits=(bits,),
                seed=self.seed,
                ds_cfg=self.ds_cfg,
                cfg=self.params.evaluate,
            )
        report = json.loads(metrics.read_text())
        return {"map_all": report["map_all"], "map_at_k": report["map_at_k"]}

    def baseline(self, method: str, bits: int) -> dict[str, float]:
        codes = self.work / f"{self.dataset}_{self.seed}_{method}"
        if not (codes / f"{bits}.h5").exists():
            baseline_codes.baseline_codes_stage(
                features_path=self.features,
                out_dir=codes,
                method=method,
                bits=(bits,),
                cfg=self.params.baselines,
                seed=self.seed,
            )
        return self.evaluate(codes, bits)

    def variant(self, name: str, bits: int) -> dict[str, float]:
        """graphs -> GCN -> node reps -> hash network -> codes -> metrics of variant `name`,
        with graph and node-representation statistics."""
        p, seed = self.params.variant(name), self.seed
        graphs = self._path("graphs", p, "", 0).with_suffix(".h5")
        if not graphs.exists():
            quiet(
                representation.build_graphs_stage,
                features_path=self.features,
                out=graphs,
                cfg=p.graph,
                seed=seed,
            )
        gcn = self._path("gcn", p, graphs.name, bits).with_suffix(".pt")
        if not gcn.exists():
            quiet(
                autoencoder.train_gcn_stage,
                features_path=self.features,
                graphs_path=graphs,
                out=gcn,
                history_out=gcn.with_suffix(".json"),
                bits=bits,
                cfg=p.gcn,
                seed=seed,
            )
        reps = self._path("reps", p, gcn.name, bits).with_suffix(".h5")
        if not reps.exists():
            quiet(
                autoencoder.dump_node_reps_stage,
                features_path=self.features,
                graphs_path=graphs,
                model_path=gcn,
                out=reps,
                cfg=p.node_reps,
            )
        hasher = self._path("hasher", p, reps.name, bits).with_suffix(".pt")
        codes = hasher.with_suffix(".codes")
        if not hasher.exists():
            hashing.train_hasher_stage(
                reps_path=reps,
                out=hasher,
                history_out=hasher.with_suffix(".json"),
                dataset=self.dataset,
                ds_cfg=self.ds_cfg,
                cfg=p.hasher,
                data_seed=seed,
                seed=seed,
            )
            hashing.compute_codes_stage(
                features_path=self.features,
                model_path=hasher,
                out=codes / f"{bits}.h5",
                method="nrdh",
                dataset=self.dataset,
                ds_cfg=self.ds_cfg,
                cfg=p.codes,
                data_seed=seed,
            )
        out = self.evaluate(codes, bits)
        with h5py.File(graphs) as f:
            out["isolated"] = float(f.attrs["isolated_fraction"])
            out["degree"] = float(f.attrs["mean_degree"])
        with h5py.File(reps) as f:
            out["rep_imbalance"] = float(f.attrs["bit_imbalance"])
        with h5py.File(codes / f"{bits}.h5") as f:
            bb = np.unpackbits(f["database/codes"][()], axis=1)[:, :bits]
        out["code_imbalance"] = float(np.abs(bb.mean(0) - 0.5).mean())
        return out


def mean_std(values: list[float]) -> str:
    a = np.asarray(values)
    return f"{a.mean():.3f}" if len(a) == 1 else f"{a.mean():.3f} ± {a.std(ddof=1):.3f}"


def tables(rows: list[dict[str, Any]], methods: list[str], bits: list[int]) -> str:
    """Markdown: per dataset, mAP@all and mAP@K per method and code length (mean +- std)."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        for metric, title in (("map_all", "mAP@all"), ("map_at_k", "mAP@1000")):
            out.append(f"\n**{ds}, {title}**\n")
            out.append("| method | " + " | ".join(f"{b} bits" for b in bits) + " |")
            out.append("|---|" + "---|" * len(bits))
            for m in methods:
                cells = []
                for b in bits:
                    vals = [
                        r[metric]
                        for r in rows
                        if (r["dataset"], r["method"], r["bits"]) == (ds, m, b)
                    ]
                    cells.append(mean_std(vals) if vals else "")
                out.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append(f"\n**{ds}, graph and bit statistics (mean over seeds and code lengths)**\n")
        out.append(
            "| method | isolated nodes | mean degree | g(x) sign imbalance | code imbalance |"
        )
        out.append("|---|---|---|---|---|")
        for m in methods:
            sel = [r for r in rows if r["dataset"] == ds and r["method"] == m and "isolated" in r]
            if sel:
                cells = [
                    f"{np.mean([r[k] for r in sel]):.3f}"
                    for k in ("isolated", "degree", "rep_imbalance", "code_imbalance")
                ]
                out.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def jobs(args: argparse.Namespace) -> list[tuple[int, int, str]]:
    """(seed, bits, variant) to run per dataset: the core variants at every code length
    with the first seed, the other variants at --variant-bits with the first seed, and the
    --seed-variants with every seed at --seed-bits."""
    first, out = args.seeds[0], []
    for seed in args.seeds:
        for bits in args.bits:
            for name in dict.fromkeys([*args.core, *args.variants, *args.seed_variants]):
                run = seed == first and (
                    name in args.core or (name in args.variants and bits in args.variant_bits)
                )
                run |= name in args.seed_variants and bits in args.seed_bits
                if run:
                    out.append((seed, bits, name))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--datasets", nargs="+", default=["digits", "digits_mosaic"])
    ap.add_argument("--bits", nargs="+", type=int, default=[16, 32, 64])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument(
        "--core",
        nargs="*",
        default=list(CORE),
        choices=VARIANTS,
        help="variants run at every code length (first seed)",
    )
    ap.add_argument(
        "--variants",
        nargs="*",
        default=list(DEFAULT_VARIANTS),
        choices=VARIANTS,
        help="variants run at --variant-bits only (first seed)",
    )
    ap.add_argument("--variant-bits", nargs="+", type=int, default=[32])
    ap.add_argument(
        "--seed-variants",
        nargs="*",
        default=list(SEED_VARIANTS),
        choices=VARIANTS,
        help="variants run with every seed at --seed-bits",
    )
    ap.add_argument("--seed-bits", nargs="+", type=int, default=[32])
    ap.add_argument(
        "--baselines",
        nargs="*",
        default=list(BASELINES),
        choices=BASELINES,
        help="run at every code length and seed",
    )
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--workdir", help="keep artifacts here (default: a temporary folder)")
    ap.add_argument("--json", help="also write every row to this file (updated as rows come)")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = load_params(args.params)
    methods = [*dict.fromkeys([*args.core, *args.variants, *args.seed_variants]), *args.baselines]
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for ds in args.datasets:
            studies: dict[int, Study] = {}
            for seed in args.seeds:
                studies[seed] = Study(params, ds, seed, work, args.split)
                for bits in args.bits:
                    for name in args.baselines:
                        r = studies[seed].baseline(name, bits)
                        rows.append(
                            {"dataset": ds, "seed": seed, "bits": bits, "method": name, **r}
                        )
            for seed, bits, name in jobs(args):
                t0 = time.perf_counter()
                r = studies[seed].variant(name, bits)
                rows.append(
                    {
                        "dataset": ds,
                        "seed": seed,
                        "bits": bits,
                        "method": name,
                        **r,
                        "seconds": time.perf_counter() - t0,
                    }
                )
                print(
                    f"{ds} seed {seed} {bits:3d} bits {name:20s} "
                    f"mAP@all {r['map_all']:.4f}  ({rows[-1]['seconds']:.0f} s)",
                    flush=True,
                )
                if args.json:
                    Path(args.json).write_text(json.dumps({"rows": rows}, indent=1))
    elapsed = time.perf_counter() - start
    text = tables(rows, methods, args.bits)
    footer = (
        f"\nsplit: {args.split}; seeds {args.seeds}; {elapsed / 60:.1f} min on "
        f"{os.cpu_count()} CPU cores ({platform.machine()}), torch threads 1"
    )
    print(text + footer)
    if args.markdown:
        Path(args.markdown).write_text(text + footer + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "seconds": elapsed}, indent=1))


if __name__ == "__main__":
    main()
