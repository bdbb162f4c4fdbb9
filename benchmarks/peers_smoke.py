"""Sanity run of the deep unsupervised peers: mAP@all on the embedded digits, one seed.

Each peer trains the pipeline's hash network (small_cnn backbone, Table 2 head) through
the one hasher loop (nrdh.train.train_hasher) with its objective from nrdh.objectives, fed
by pixel features of the training split where it needs feature similarities, with the
params.yaml ``hasher`` section and its ``peers.<name>`` overrides. Codes are sign(fch) of
queries and database, scored by nrdh.metrics; LSH and ITQ on the same features are the
references. Prints a Markdown table and the wall time.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peers_smoke.py --bits 32 --seed 0
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peers_smoke.py --epochs 0  # params' 30
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import dataclasses
import time

import numpy as np
import torch

from nrdh import baselines, codes, features, metrics, objectives, train
from nrdh.data import ImageSet, load_dataset
from nrdh.params import DigitsData, Params, load_params
from nrdh.peers import PEERS, hasher_config
from nrdh.pipeline import hashing


def pixel_features(images: ImageSet) -> np.ndarray:
    """Standardised pixel features of every image (the ``pixels`` backbone of features.h5)."""
    model, transform, _ = features.build_backbone("pixels", images=images)
    return np.concatenate([model(x) for x in features.stacked_batches(images.view(transform), 512)])


def score(images: ImageSet, q: np.ndarray, b: np.ndarray) -> float:
    """mAP@all of 0/1 query and database codes (ties by index)."""
    y = images.labels
    return metrics.mean_average_precision(
        q, b, y[images.split["query"]], y[images.split["database"]]
    )


def run_peer(
    name: str, params: Params, images: ImageSet, x: np.ndarray, bits: int, seed: int, epochs: int
):
    """Train peer `name` (for `epochs` epochs when > 0) and return (mAP@all, last history)."""
    peer_cfg = params.peers[name]
    cfg = hasher_config(dataclasses.replace(params.hasher, device="cpu"), peer_cfg)
    cfg = dataclasses.replace(cfg, epochs=epochs or cfg.epochs)
    train_idx = images.split["train"]
    obj = objectives.build_objective(params.registry[name], peer_cfg, x[train_idx], bits, train_idx)
    torch.manual_seed(seed)
    model, t_train, t_eval = hashing._hash_network(cfg, bits, 1)
    view = images.view(obj.view_transform(t_train, t_eval), train_idx)
    history = train.train_hasher(model, view, obj, cfg, seed)
    out = {
        split: codes.sign_to_bits(
            train.hash_outputs(model, images.view(t_eval, images.split[split]), 256, "cpu")
        )
        for split in ("query", "database")
    }
    return score(images, out["query"], out["database"]), history[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--peers", nargs="+", default=list(PEERS))
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs of every peer (0 = params.yaml's)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = load_params(args.params)
    images = load_dataset(DigitsData(source="digits", query_per_class=20), args.seed)
    x = pixel_features(images)
    rows = []
    for method in ("lsh", "itq"):
        model = baselines.fit_baseline(method, x[images.split["train"]], args.bits, args.seed)
        q, b = (model.encode(x[images.split[s]]) for s in ("query", "database"))
        rows.append((method, score(images, q, b), 0.0, ""))
    for name in args.peers:
        start = time.perf_counter()
        value, last = run_peer(name, params, images, x, args.bits, args.seed, args.epochs)
        terms = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "epoch")
        rows.append((name, value, time.perf_counter() - start, terms))
    epochs = args.epochs or "params.yaml"
    print(f"digits, {args.bits} bits, seed {args.seed}, epochs {epochs}, pixels, small_cnn\n")
    print("| method | mAP@all | train s | last epoch |\n|---|---|---|---|")
    for name, value, seconds, terms in rows:
        print(f"| {name} | {value:.4f} | {seconds:.1f} | {terms} |")


if __name__ == "__main__":
    main()
