"""Time nrdh.metrics against the field's per-query argsort mAP (DeepHash-pytorch's CalcTopMap).

Both run in this one process on the same 64-bit codes of a synthetic multi-label set shaped
like MS-COCO (80 classes, about 3 labels per image) whose codes follow their labels, so
distances have realistic ties, or on a real codes file of the pipeline (``--codes``: its
query and database codes and labels, as the evaluate stage reads them). Prints a markdown
table; ``--json`` also writes the numbers.

    python benchmarks/bench_metrics.py                 # 1,000 x 59,000 and 5,000 x 117,000
    python benchmarks/bench_metrics.py --sizes 200x5000 --json out.json
    python benchmarks/bench_metrics.py --codes codes/fashion/nrdh/seed0/48.h5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import tracemalloc

import numpy as np

from nrdh.codes import unpack_codes
from nrdh.codes_file import read_codes
from nrdh.metrics import precision_at_recall, retrieval_report

BITS, N_CLASSES = 64, 80


def synthetic(n: int, rng: np.random.Generator, prototypes: np.ndarray):
    """0/1 codes (n, BITS) and multi-hot labels: code = sign(sum of label prototypes + noise)."""
    labels = (rng.random((n, N_CLASSES)) < 3 / N_CLASSES).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, N_CLASSES, n)] = 1  # every image has a label
    real = labels.astype(np.float32) @ prototypes + 1.5 * rng.standard_normal((n, BITS), np.float32)
    return (real >= 0).astype(np.uint8), labels


def calc_top_map(rB, qB, retrievalL, queryL, topk):
    """DeepHash-pytorch's CalcTopMap, verbatim in substance: per-query np.argsort, AP@topk."""
    num_query = queryL.shape[0]
    topkmap = 0
    for it in range(num_query):
        gnd = (np.dot(queryL[it, :], retrievalL.transpose()) > 0).astype(np.float32)
        hamm = 0.5 * (rB.shape[1] - np.dot(qB[it, :], rB.transpose()))
        ind = np.argsort(hamm)
        gnd = gnd[ind]
        tgnd = gnd[0:topk]
        tsum = np.sum(tgnd).astype(int)
        if tsum == 0:
            continue
        count = np.linspace(1, tsum, tsum)
        tindex = np.asarray(np.where(tgnd == 1)) + 1.0
        topkmap = topkmap + np.mean(count / (tindex))
    return topkmap / num_query


def peak_rss_mib() -> float:
    """Process peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_set(nq: int, nb: int, seed: int) -> tuple[np.ndarray, ...]:
    """Query and database 0/1 codes and multi-hot labels of one synthetic set."""
    rng = np.random.default_rng(seed)
    prototypes = rng.standard_normal((N_CLASSES, BITS)).astype(np.float32)
    bq, yq = synthetic(nq, rng, prototypes)
    bb, yb = synthetic(nb, rng, prototypes)
    return bq, bb, yq, yb


def codes_set(path: str) -> tuple[np.ndarray, ...]:
    """Query and database 0/1 codes and labels of a codes file (unpacked from its bytes)."""
    c = read_codes(path)
    q, b = (unpack_codes(c[s]["codes"], c["bits"]) for s in ("query", "database"))
    return q, b, c["query"]["labels"], c["database"]["labels"]


def run(bq: np.ndarray, bb: np.ndarray, yq: np.ndarray, yb: np.ndarray) -> dict:
    """Ours (ties index and expected) then the reference, on one set of 0/1 codes."""
    nq, nb = len(bq), len(bb)
    out: dict = {"nq": nq, "nb": nb, "bits": bq.shape[1]}
    rss_before = peak_rss_mib()
    for ties in ("index", "expected"):
        tracemalloc.start()
        t0 = time.perf_counter()
        report = retrieval_report(bq, bb, yq, yb, topk=1000, radius=2, ks=(100, 1000), ties=ties)
        out[f"ours_{ties}_s"] = time.perf_counter() - t0
        out[f"ours_{ties}_tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out[f"ours_{ties}_map_all"] = report["map_all"]
        out[f"ours_{ties}_map_at_1000"] = report["map_at_k"]
        out[f"ours_{ties}_precision_radius2"] = report["precision_radius"]
    out["peak_rss_before_ours_mib"] = rss_before
    out["peak_rss_after_ours_mib"] = peak_rss_mib()
    t0 = time.perf_counter()
    precision_at_recall(bq, bb, yq, yb)  # the evaluate stage's other pass (the paper's Table 3)
    out["ours_precision_at_recall_s"] = time.perf_counter() - t0
    qf, bf = 2 * bq.astype(np.float32) - 1, 2 * bb.astype(np.float32) - 1
    t0 = time.perf_counter()
    out["ref_map_at_1000"] = calc_top_map(
        bf, qf, yb.astype(np.float32), yq.astype(np.float32), 1000
    )
    out["ref_s"] = time.perf_counter() - t0
    out["speedup_index"] = out["ref_s"] / out["ours_index_s"]
    out["speedup_expected"] = out["ref_s"] / out["ours_expected_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x59000", "5000x117000"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--codes", nargs="+", default=[], help="codes files to time instead")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    tiny = np.zeros((2, BITS), np.uint8), np.zeros((2, N_CLASSES), np.uint8)
    t0 = time.perf_counter()
    retrieval_report(tiny[0], tiny[0], tiny[1], tiny[1], topk=1)  # JIT compile or cache load
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "jit_warmup_s": time.perf_counter() - t0,
    }
    sets = [codes_set(path) for path in args.codes] or [
        synthetic_set(*map(int, size.split("x")), args.seed) for size in args.sizes
    ]
    rows = [run(*s) for s in sets]
    print(f"machine: {machine}\n")
    print(
        "| nq x nb x bits | reference mAP@1000 (s) | ours, all metrics, ties=index (s) | speed-up "
        "| ours, ties=expected (s) | speed-up | peak RSS after ours (MiB) "
        "| tracemalloc peak (MiB) | mAP@1000 ref / index / expected "
        "| ours, precision at recall (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['nq']:,} x {r['nb']:,} x {r['bits']} | {r['ref_s']:.2f} "
            f"| {r['ours_index_s']:.3f} "
            f"| {r['speedup_index']:.0f}x | {r['ours_expected_s']:.3f} "
            f"| {r['speedup_expected']:.0f}x | {r['peak_rss_after_ours_mib']:.0f} "
            f"| {r['ours_index_tracemalloc_peak_mib']:.0f} "
            f"| {r['ref_map_at_1000']:.6f} / {r['ours_index_map_at_1000']:.6f} "
            f"/ {r['ours_expected_map_at_1000']:.6f} | {r['ours_precision_at_recall_s']:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
