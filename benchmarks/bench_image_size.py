"""EfficientNet-Lite0's input side, chosen on a validation split: kNN label precision of its
features against extraction time, per side (docs/METHOD.md, "Feature input size").

Validation queries and a seeded random database subset are drawn from a dataset entry's
``validation`` split (the test queries are never read); each side is timed over the same
images (resizing included) on one CPU thread, as extract_features runs by default.

    nrdh preset presets/fashion.yaml   # or any params file with the dataset entry
    .venv/bin/python benchmarks/bench_image_size.py --dataset fashion --validation 500 \
        --sides 64 96 112 160 224 [--n-database 1500] [--weights none] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from nrdh.numerics import pin_cpu_numerics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--dataset", required=True, help="a datasets entry with a validation key")
    ap.add_argument("--validation", type=int, default=500, help="validation queries drawn")
    ap.add_argument("--sides", type=int, nargs="+", default=[64, 96, 112, 160, 224])
    ap.add_argument("--n-database", type=int, default=1500, help="database images drawn")
    ap.add_argument("--k", type=int, default=10, help="neighbours of the kNN precision")
    ap.add_argument("--weights", default="DEFAULT", help="none: the random-weight control")
    args = ap.parse_args()
    pin_cpu_numerics()

    import torch

    from nrdh.backbones import build_backbone
    from nrdh.data import load_dataset
    from nrdh.params import load_params
    from nrdh.semantics import knn_precision

    params = load_params(args.params)
    entry = dataclasses.replace(params.dataset(args.dataset), validation=args.validation)
    images = load_dataset(entry, params.base.seed)
    rng = np.random.default_rng(params.base.seed)
    query = images.split["query"]
    database = np.sort(rng.choice(images.split["database"], args.n_database, replace=False))
    y = images.labels
    cfg = params.features_for(args.dataset)
    torch.set_num_threads(cfg.threads)
    print(f"{args.dataset}: {len(query)} validation queries, {len(database)} database images")
    print(f"| side | kNN@{args.k} precision | images/s |\n|---|---|---|")
    for side in args.sides:
        model, transform, _ = build_backbone("efficientnet_lite0", args.weights, image_size=side)
        feats = {}
        began = time.perf_counter()
        for name, idx in (("query", query), ("database", database)):
            out = []
            for s in range(0, len(idx), cfg.batch_size):
                x = torch.stack([transform(images[int(i)]) for i in idx[s : s + cfg.batch_size]])
                with torch.no_grad():
                    out.append(model(x).numpy())
            feats[name] = np.concatenate(out)
        rate = (len(query) + len(database)) / (time.perf_counter() - began)
        p = knn_precision(feats["query"], feats["database"], y[query], y[database], args.k)
        print(f"| {side} | {p:.3f} | {rate:.0f} |", flush=True)


if __name__ == "__main__":
    main()
