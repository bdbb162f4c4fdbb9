"""Throughput of the scale scenario (docs/SCALE.md): our code path against the model's ceiling.

For feature extraction (`nrdh.features.extract_features`, what the stage calls) and for
hash-network training (`nrdh.train.train_hasher` with the stage's network and transforms) on
the list dataset `nrdh make-scale-data` writes, it measures:

- the stage rate: images/s through the library function, steady state (the difference of
  two runs, so model building and loader start-up cancel) and overall (one run's wall);
- the ceiling: the same model, batch size and precision on random uint8 batches already on
  the device (the model normalises them itself, as in the stage), with no data loading;
- the supply: images/s of the DataLoader alone (decode, resize, crop, copy to the device)
  for each `num_workers` and, on CUDA, with and without pinned memory;
- GPU utilisation sampled every 0.1 s while each stage run lasts (pynvml, else nvidia-smi;
  skipped with a note on CPU), peak RSS (this process, and with loader workers added) and
  peak device memory (torch.cuda.max_memory_allocated);
- sweeps: extraction and training over `--workers`, training with `hasher.amp` off and on;
- evaluation (`nrdh.metrics.retrieval_report`, every metric) at `--eval` (5,000 x 117,000)
  on the device, from synthetic 64-bit codes (benchmarks/bench_metrics.py).

Writes JSON and a Markdown table. One command on a GPU node (benchmarks/gpu_session.sh);
small flags make it a CPU smoke run:

    python benchmarks/bench_scale.py --data /tmp/scale --json out.json --md out.md
    python benchmarks/bench_scale.py --data /tmp/s --n 300 --n-query 20 --n-train 60 \\
        --feature-backbone resnet18 --feature-batch 16 --hasher-batch 16 --extract-n 64 \\
        --small-n 32 --ceiling-batches 2 --workers 0 1 --eval 100x1000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch
from bench_metrics import N_CLASSES, synthetic  # this folder: sys.path[0] of a script

from nrdh import backbones, features, train
from nrdh.data import ImageSet, load_dataset
from nrdh.device import resolve_device
from nrdh.export import export_list_dataset, scale_collection
from nrdh.hash_network import hash_network
from nrdh.losses import hash_loss
from nrdh.metrics import retrieval_report
from nrdh.objectives import NRDH
from nrdh.params import FeatureConfig, HasherConfig, ListData
from nrdh.presets import load_preset

PRESET = Path(__file__).resolve().parents[1] / "presets" / "scale.yaml"
PROV = {"params": {"bench": "scale"}, "inputs": {}}


class Sampler:
    """Samples GPU utilisation and process-tree RSS every `period` s in a background thread."""

    def __init__(self, device: torch.device, period: float = 0.1) -> None:
        self.device, self.period = device, period
        self.util: list[float] = []
        self.rss_main = self.rss_tree = 0
        self._stop = threading.Event()
        self._query = gpu_query(device)

    def __enter__(self) -> Sampler:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self._sample()
        self._sample()  # at least one sample, however short the run

    def _sample(self) -> None:
        me = psutil.Process()
        rss = me.memory_info().rss
        kids = sum(_rss(c) for c in me.children(recursive=True))
        self.rss_main, self.rss_tree = max(self.rss_main, rss), max(self.rss_tree, rss + kids)
        if self._query is not None:
            self.util.append(self._query())

    def summary(self) -> dict[str, Any]:
        """Mean and median GPU utilisation (%), peak RSS and device memory (MiB)."""
        out: dict[str, Any] = {
            "peak_rss_mib": self.rss_main / 2**20,
            "peak_rss_with_workers_mib": self.rss_tree / 2**20,
        }
        if self.util:
            out["gpu_util_mean"] = float(np.mean(self.util))
            out["gpu_util_median"] = float(np.median(self.util))
        if self.device.type == "cuda":
            out["peak_device_mib"] = torch.cuda.max_memory_allocated(self.device) / 2**20
        return out


def _rss(proc: psutil.Process) -> int:
    """RSS of a process that may have just exited (0 then)."""
    try:
        return proc.memory_info().rss
    except psutil.Error:
        return 0


def gpu_query(device: torch.device) -> Callable[[], float] | None:
    """A function reading the device's utilisation (%), or None without a GPU or a reader."""
    if device.type != "cuda":
        return None
    index = device.index if device.index is not None else torch.cuda.current_device()
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        return lambda: float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except Exception:  # noqa: BLE001 - no pynvml or no NVML: fall back to nvidia-smi
        pass
    if shutil.which("nvidia-smi") is None:
        return None
    cmd = ["nvidia-smi", f"--id={index}", "--query-gpu=utilization.gpu", "--format=csv,noheader"]
    return lambda: float(subprocess.run(cmd, capture_output=True, text=True).stdout.split()[0])


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timing)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def head(images: ImageSet, n: int) -> ImageSet:
    """The first n images of a file-based ImageSet, with their splits."""
    assert images.paths is not None
    split = {k: v[v < n] for k, v in images.split.items()}
    return ImageSet(
        images.ids[:n], images.labels[:n], images.class_names, split, paths=images.paths[:n]
    )


def ensure_data(root: Path, n: int, n_query: int, n_train: int) -> ImageSet:
    """Load the list dataset under root, writing it with make-scale-data's generator first."""
    if not (root / "test.txt").is_file():
        export_list_dataset(scale_collection(n, n_query, n_train), root)
    return load_dataset(ListData(source="list", root=str(root)), 0)


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[float, dict[str, Any]]:
    """(wall seconds, sampler summary) of fn()."""
    with Sampler(device) as s:
        t0 = time.perf_counter()
        fn()
        sync(device)
        seconds = time.perf_counter() - t0
    return seconds, s.summary()


def steady(n_big: int, t_big: float, n_small: int, t_small: float) -> float:
    """Images/s from two runs: (n_big - n_small) / (t_big - t_small); fixed costs cancel."""
    return (n_big - n_small) / max(t_big - t_small, 1e-9)


def extraction(images: ImageSet, cfg: FeatureConfig, n: int, small: int, tmp: Path):
    """Stage rate of extract_features on the first n (and `small`) images."""

    def run(k: int) -> tuple[float, dict[str, Any]]:
        out = tmp / f"features_{k}.h5"
        job = lambda: features.extract_features(head(images, k), cfg, out, PROV)  # noqa: E731
        seconds, stats = timed(job, resolve_device(cfg.device))
        out.unlink()
        return seconds, stats

    t_small, _ = run(small)
    t_big, stats = run(n)
    return {
        "n": n,
        "seconds": t_big,
        "images_per_s": n / t_big,
        "steady_images_per_s": steady(n, t_big, small, t_small),
        **stats,
    }


def best_rate(step: Callable[[], Any], batches: int, device: torch.device, reps: int = 3) -> float:
    """Calls of `step` per second: the best of `reps` timed blocks of `batches` calls, after
    two warm-up calls (the ceiling is the model's rate undisturbed by other load)."""
    for _ in range(2):
        step()
    best = 0.0
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(batches):
            step()
        sync(device)
        best = max(best, batches / (time.perf_counter() - t0))
    return best


def extraction_ceiling(cfg: FeatureConfig, batches: int) -> float:
    """Images/s of the backbone alone on random uint8 batches on the device (stage's flags)."""
    device = resolve_device(cfg.device)
    model, _, _ = backbones.build_backbone(cfg.backbone, cfg.weights, cfg.download)
    model = model.to(device).eval()
    x = torch.randint(0, 256, (cfg.batch_size, 3, 224, 224), dtype=torch.uint8, device=device)
    with (
        torch.no_grad(),
        torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True),
    ):
        return cfg.batch_size * best_rate(lambda: model(x).float(), batches, device)


def scale_hash_network(cfg: HasherConfig, bits: int) -> tuple[torch.nn.Module, Any, Any]:
    """The configured hash network on the scale collection's RGB images (as the stage builds it)."""
    return hash_network(
        backbone=cfg.backbone,
        bits=bits,
        channels=3,
        image_size=cfg.image_size,
        weights=cfg.weights,
        augment=cfg.augment,
    )


def hasher_run(images: ImageSet, cfg: HasherConfig, bits: int, epochs: tuple[int, int], n: int):
    """Steady and overall stage rate of train_hasher on n of the train split (epochs a vs b)."""
    idx = images.split["train"][: n or None]
    targets = np.tanh(np.random.default_rng(0).standard_normal((len(images), bits))).astype(
        np.float32
    )
    objective = NRDH(targets, cfg.mu, cfg.omega, cfg.bce_target)
    times, stats = [], {}
    for e in epochs:
        torch.manual_seed(0)
        model, t_train, _ = scale_hash_network(cfg, bits)
        run_cfg = dataclasses.replace(cfg, epochs=e, checkpoint_every=0)
        job = lambda m=model, t=t_train, c=run_cfg: train.train_hasher(  # noqa: E731
            m, images.view(t, idx), objective, c, 0
        )
        seconds, stats = timed(job, resolve_device(cfg.device))
        times.append(seconds)
    n = len(idx)
    steps = n // cfg.batch_size if n > cfg.batch_size else 1
    used = steps * cfg.batch_size if n > cfg.batch_size else n  # drop_last
    return {
        "n_train": n,
        "epochs": list(epochs),
        "seconds": times,
        "images_per_s": epochs[1] * used / times[1],
        "steady_images_per_s": (epochs[1] - epochs[0]) * used / max(times[1] - times[0], 1e-9),
        **stats,
    }


def hasher_ceiling(cfg: HasherConfig, bits: int, batches: int) -> float:
    """Training steps/s x batch of the same network, loss and optimiser on device tensors."""
    device = resolve_device(cfg.device)
    torch.manual_seed(0)
    model = scale_hash_network(cfg, bits)[0].to(device).train()
    opt = train.make_optimizer(model.parameters(), cfg)
    amp = cfg.amp and device.type == "cuda"
    b = cfg.batch_size
    x = torch.randint(0, 256, (b, 3, 224, 224), dtype=torch.uint8, device=device)
    g = torch.tanh(torch.randn(b, bits, device=device))

    def step() -> None:
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            fc, fch = model(x)
        loss = hash_loss(fc.float(), fch.float(), g, cfg.mu, cfg.omega, cfg.bce_target)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()

    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
        rate = b * best_rate(step, batches, device)
    model.cpu()
    return rate


def transform_cost(images: ImageSet, backbone: str, n: int = 300, reps: int = 3) -> dict:
    """Images/s per core of one process decoding and transforming (best of `reps`): torchvision's
    own float32 preprocessing on the host (before) against ours, uint8 out (after)."""
    from torchvision.transforms import Compose

    entry = backbones.weights_entry(backbone, "DEFAULT")
    ts = {
        "float32_host": Compose([backbones.ToRGB(), entry.transforms()]),
        "uint8_host": backbones.host_transform(entry),
    }
    best = dict.fromkeys(ts, 0.0)
    for _ in range(reps):
        for name, t in ts.items():
            t0 = time.perf_counter()
            for i in range(min(n, len(images))):
                t(images[i])
            best[name] = max(best[name], min(n, len(images)) / (time.perf_counter() - t0))
    return best


def loader_rate(
    view: Any, batch: int, workers: int, pin: bool, batches: int, device: torch.device
) -> float:
    """Images/s the DataLoader supplies to the device (decode, transform, copy), no model."""
    loader = torch.utils.data.DataLoader(
        view, batch_size=batch, shuffle=False, num_workers=workers, pin_memory=pin
    )
    it = iter(loader)
    next(it)  # workers started, first batch in
    t0, n = time.perf_counter(), 0
    for _, (x, _) in zip(range(batches), it, strict=False):
        x.to(device, non_blocking=True)
        n += len(x)
    sync(device)
    return n / (time.perf_counter() - t0)


def evaluation(nq: int, nb: int, device: torch.device) -> dict[str, Any]:
    """retrieval_report on 64-bit codes at nq x nb, on the device (numpy kernel on CPU)."""
    rng = np.random.default_rng(0)
    prototypes = rng.standard_normal((N_CLASSES, 64)).astype(np.float32)
    (bq, yq), (bb, yb) = synthetic(nq, rng, prototypes), synthetic(nb, rng, prototypes)
    if device.type == "cuda":
        bq, bb, yq, yb = (torch.as_tensor(a, device=device) for a in (bq, bb, yq, yb))
    retrieval_report(bq[:2], bb[:8], yq[:2], yb[:8], topk=4)  # JIT compile / CUDA warm-up
    seconds, stats = timed(
        lambda: retrieval_report(bq, bb, yq, yb, topk=1000, radius=2, ks=(100, 1000)), device
    )
    return {"nq": nq, "nb": nb, "seconds": seconds, **stats}


def markdown(res: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    rows = [
        "| part | setting | stage images/s (steady) | overall | ceiling | steady / ceiling "
        "| GPU util mean / median % | peak RSS (+workers) MiB | peak device MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["runs"]:
        util = (
            f"{r['gpu_util_mean']:.0f} / {r['gpu_util_median']:.0f}"
            if "gpu_util_mean" in r
            else "n/a"
        )
        rows.append(
            f"| {r['part']} | {r['setting']} | {r['steady_images_per_s']:.1f} | "
            f"{r['images_per_s']:.1f} | {r['ceiling']:.1f} | "
            f"{r['steady_images_per_s'] / r['ceiling']:.0%} | "
            f"{util} | {r['peak_rss_mib']:.0f} ({r['peak_rss_with_workers_mib']:.0f}) | "
            f"{r.get('peak_device_mib', float('nan')):.0f} |"
        )
    c = res["transform_cost"]
    rows += [
        "",
        f"host transform, one core: torchvision float32 {c['float32_host']:.0f} images/s, "
        f"ours uint8 {c['uint8_host']:.0f} images/s",
    ]
    rows += ["", "| loader supply | workers | pinned | images/s |", "|---|---|---|---|"]
    rows += [
        f"| {s['part']} | {s['workers']} | {s['pin']} | {s['images_per_s']:.1f} |"
        for s in res["supply"]
    ]
    e = res.get("evaluation")
    rows += [
        "",
        "evaluation: not reached"
        if e is None
        else f"evaluation {e['nq']} x {e['nb']} on {res['machine']['device']}: "
        f"{e['seconds']:.2f} s, peak device {e.get('peak_device_mib', 0):.0f} MiB",
    ]
    if res["notes"]:
        rows += ["", *(f"- {n}" for n in res["notes"])]
    return "\n".join(rows) + "\n"


def save(res: dict[str, Any], json_path: Path | None, md_path: Path | None) -> None:
    """Write the results so far: a run cut short by a time limit keeps what it measured."""
    if json_path:
        json_path.write_text(json.dumps(res, indent=2, default=str))
    if md_path:
        md_path.write_text(markdown(res))


def main() -> None:
    """Parse the flags, run every measurement, write JSON and Markdown."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="list dataset (written if missing)")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--n-query", type=int, default=1000)
    p.add_argument("--n-train", type=int, default=5000)
    p.add_argument("--preset", type=Path, default=PRESET, help="features/hasher settings")
    p.add_argument("--device", default="auto")
    p.add_argument("--feature-backbone", default=None, help="override (CPU smoke runs)")
    p.add_argument("--feature-batch", type=int, default=None)
    p.add_argument("--hasher-batch", type=int, default=None)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--extract-n", type=int, default=0, help="images extracted (0 = all)")
    p.add_argument("--sweep-n", type=int, default=5000, help="images per extraction sweep point")
    p.add_argument("--small-n", type=int, default=1000, help="the short run of the difference")
    p.add_argument("--hasher-n", type=int, default=0, help="training images (0 = the split)")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 4, 8, 16])
    p.add_argument("--ceiling-batches", type=int, default=20)
    p.add_argument("--supply-batches", type=int, default=10)
    p.add_argument("--eval", default="5000x117000")
    p.add_argument("--json", type=Path)
    p.add_argument("--md", type=Path)
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))

    device = resolve_device(args.device)
    params = load_preset(args.preset, PRESET.parents[1] / "params.yaml")
    fcfg, hcfg = params.features, params.hasher
    fcfg = dataclasses.replace(
        fcfg,
        device=str(device),
        backbone=args.feature_backbone or fcfg.backbone,
        batch_size=args.feature_batch or fcfg.batch_size,
    )
    hcfg = dataclasses.replace(
        hcfg, device=str(device), batch_size=args.hasher_batch or hcfg.batch_size
    )
    images = ensure_data(args.data, args.n, args.n_query, args.n_train)
    n = args.extract_n or len(images)
    notes = []
    if gpu_query(device) is None:
        notes.append(f"GPU utilisation not sampled: device {device} (no GPU or no reader)")
    res: dict[str, Any] = {
        "machine": {
            "device": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else platform.processor() or "cpu",
            "cpu_cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "config": {
            "features": dataclasses.asdict(fcfg),
            "hasher": dataclasses.asdict(hcfg),
            "args": {k: str(v) for k, v in vars(args).items()},
        },
        "runs": [],
        "supply": [],
        "notes": notes,
    }
    res["transform_cost"] = transform_cost(images, fcfg.backbone)
    print("transform cost, images/s per core:", res["transform_cost"], flush=True)
    pins = [False, True] if device.type == "cuda" else [False]
    f_model, f_transform, _ = backbones.build_backbone(fcfg.backbone, fcfg.weights, fcfg.download)
    del f_model
    h_transform = scale_hash_network(hcfg, args.bits)[1]
    for part, view, batch in (
        ("extraction", images.view(f_transform), fcfg.batch_size),
        ("hasher", images.view(h_transform, images.split["train"]), hcfg.batch_size),
    ):
        for w in args.workers:
            for pin in pins:
                rate = loader_rate(view, batch, w, pin, args.supply_batches, device)
                res["supply"].append({"part": part, "workers": w, "pin": pin, "images_per_s": rate})
                print(f"supply {part} workers={w} pin={pin}: {rate:.1f} images/s", flush=True)

    def record(part: str, setting: str, ceiling: float, run: dict[str, Any]) -> None:
        res["runs"].append({"part": part, "setting": setting, "ceiling": ceiling, **run})
        print(res["runs"][-1], flush=True)
        save(res, args.json, args.md)

    sweep_n = min(args.sweep_n, len(images))
    points = [(fcfg, n)] + [
        (dataclasses.replace(fcfg, num_workers=w), sweep_n)
        for w in args.workers
        if (w, sweep_n) != (fcfg.num_workers, n)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        ceiling = extraction_ceiling(fcfg, args.ceiling_batches)
        for cfg, k in points:
            r = extraction(images, cfg, k, args.small_n, Path(tmp))
            setting = f"{cfg.backbone} bs {cfg.batch_size} workers {cfg.num_workers} n {k}"
            record("extraction", setting, ceiling, r)

    for amp in [False, True] if device.type == "cuda" else [False]:
        cfg = dataclasses.replace(hcfg, amp=amp)
        ceiling = hasher_ceiling(cfg, args.bits, args.ceiling_batches)
        for w in args.workers if not amp else [hcfg.num_workers]:
            r = hasher_run(
                images, dataclasses.replace(cfg, num_workers=w), args.bits, (1, 3), args.hasher_n
            )
            setting = f"{cfg.backbone} bs {cfg.batch_size} workers {w} amp {amp}"
            record("hasher", setting, ceiling, r)

    nq, nb = map(int, args.eval.split("x"))
    res["evaluation"] = evaluation(nq, nb, device)
    print(res["evaluation"], flush=True)
    save(res, args.json, args.md)
    print(markdown(res))


if __name__ == "__main__":
    main()
