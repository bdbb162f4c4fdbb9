"""The no-op check of a large image collection in both engines (issue 27).

Writes N 28x28 PNGs in 10 class folders (a folder dataset), links it as the pipeline does
(`nrdh.sources.link_sources`) into a scratch DVC project whose one stage depends on the link,
and times, side by side on the same files:

- DVC's first hash of the collection (`dvc repro`: every image read once),
- DVC's no-op check (`dvc status` on the untouched collection: its state database answers
  from each file's inode, size and mtime, no image read), and after one image is removed,
- Snakemake's per-DAG-build cost (`link_sources` with the snapshot file: a stat per image),
- the content digest the extraction records in features.h5 (every image read).

    # from the repository root (it reads params.yaml):
    .venv/bin/python benchmarks/bench_data_deps.py [--n 70000] [--dir /tmp/nrdh_bench_data]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from tqdm import tqdm

from nrdh import presets
from nrdh.params import parse
from nrdh.sources import content_digest, link_sources


def write_collection(root: Path, n: int) -> None:
    """n grey 28x28 PNGs of seeded noise, class k in root/class<k>, k = i mod 10."""
    rng = np.random.default_rng(0)
    for i in tqdm(range(n), desc="images", unit="img"):
        path = root / f"class{i % 10}" / f"{i:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(path)


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds a command takes, and its output; it must succeed."""
    began = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - began, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=70000, help="images (default 70,000)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/nrdh_bench_data"))
    args = parser.parse_args()
    dvc = str(Path(sys.executable).with_name("dvc"))
    shutil.rmtree(args.dir, ignore_errors=True)
    project = args.dir / "project"
    project.mkdir(parents=True)
    write_collection(args.dir / "photos", args.n)
    photos = {"source": "folder", "root": str(args.dir / "photos"), "n_query": 100}
    params = parse(
        presets.overlay(
            yaml.safe_load(Path("params.yaml").read_text()),
            {"base": {"datasets": ["photos"]}, "datasets": {"photos": photos}},
        )
    )
    cfg = params.dataset("photos")

    began = time.perf_counter()
    link_sources(params, project)  # first: links and writes the snapshot
    first_link = time.perf_counter() - began
    began = time.perf_counter()
    link_sources(params, project)  # a later DAG build: the snapshot is compared, not written
    again_link = time.perf_counter() - began

    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=project, check=True)
    (project / "dvc.yaml").write_text(
        "stages:\n  extract:\n    cmd: echo done > out.txt\n"
        "    deps: [data/sources/photos]\n    outs: [out.txt]\n"
    )
    repro, _ = timed([dvc, "repro", "-q"], project)
    noop, out = timed([dvc, "status"], project)
    assert "up to date" in out, out
    os.remove(args.dir / "photos" / "class3" / "000003.png")
    changed, out = timed([dvc, "status"], project)
    assert "modified" in out, out
    began = time.perf_counter()
    link_sources(params, project)
    changed_link = time.perf_counter() - began
    began = time.perf_counter()
    digest = content_digest(cfg)
    digest_s = time.perf_counter() - began

    rows = [
        ("DVC: first hash of the collection (`dvc repro`)", repro),
        ("DVC: no-op check, untouched (`dvc status`)", noop),
        ("DVC: check after one image removed (`dvc status`)", changed),
        ("Snakemake DAG build: links + snapshot written (first)", first_link),
        ("Snakemake DAG build: links + snapshot, untouched", again_link),
        ("Snakemake DAG build: links + snapshot, one image removed", changed_link),
        ("extraction: content digest for provenance", digest_s),
    ]
    print(f"| {args.n:,} images of 28x28 ({digest['files']:,} after the removal) | seconds |")
    print("|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
