"""Image features for hashing: a backbone's (`nrdh.backbones`) output over every image.

NRDH builds its graphs on ResNet-101 features (last pooling layer, z = 2048); the pixel
backbone gives a fast, download-free stand-in for small data; it is numpy only, so the default
run's feature stage never pays for importing torch (the CNN paths import it when used). The
simclr backbone is the encoder the train_feature_net stage learns without labels
(`nrdh.feature_net`), where no ImageNet weights can be downloaded.
`extract_shard` streams the features of one shard of rows into a shard file;
`nrdh.features_file.merge_features` merges the shards into the features artifact, whose schema is
given in its docstring.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
from tqdm import tqdm

from nrdh.backbones import BACKBONES, PixelStandardiser, build_backbone, stacked_batches
from nrdh.data import SPLITS, ImageSet, TransformedView
from nrdh.device import resolve_device
from nrdh.features_file import merge_features
from nrdh.io import create_h5
from nrdh.params import FeatureConfig
from nrdh.shards import run_unsharded, shard_paths, shard_rows

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)


def extract_features(
    dataset: ImageSet,
    cfg: FeatureConfig,
    out_path: str | Path,
    prov: dict,
    network: Path | None = None,
) -> None:
    """Features of every image -> features.h5 (schema: `nrdh.features_file.merge_features`).

    One shard merged: the same bytes as any sharded run. The same inputs give a
    byte-identical file on the same device (float32, deterministic kernels, no timestamps).
    """
    run_unsharded(
        lambda shard: extract_shard(dataset, cfg, shard, prov, network=network),
        lambda folder: merge_features(shard_paths(folder, 1), out_path),
        out_path,
    )


def extract_shard(
    dataset: ImageSet,
    cfg: FeatureConfig,
    out_path: str | Path,
    prov: dict,
    shard: int = 0,
    count: int = 1,
    network: Path | None = None,
) -> None:
    """Run the backbone over the rows of shard `shard` of `count` and stream them into a
    ``features_shard`` file (its rows' features, labels, ids and split members).

    The pixel backbone's statistics come from the whole train split in every shard, so all
    shards standardise alike; shard boundaries are multiples of ``batch_size``. `network`:
    the simclr encoder's checkpoint.
    """
    model, transform, z = build_backbone(
        cfg.backbone, cfg.weights, cfg.download, dataset, network=network, image_size=cfg.image_size
    )
    start, stop = shard_rows(len(dataset), shard, count, cfg.batch_size)
    view = dataset.view(transform, np.arange(start, stop, dtype=np.int64))
    batches: Iterator[np.ndarray]
    forward = [0.0]  # seconds in the network's forward pass alone (its raw rate)
    if isinstance(model, PixelStandardiser):
        device = "cpu"
        batches = map(model, stacked_batches(view, cfg.batch_size))
    else:
        import torch

        torch.set_num_threads(cfg.threads)  # a fixed count: the same bytes on any machine
        device = str(resolve_device(cfg.device))
        batches = _cnn_batches(model, view, cfg, device, forward)
    with create_h5(out_path, kind="features_shard", prov=prov) as f:
        feats = f.create_dataset("features", shape=(stop - start, z), dtype=np.float32)
        buf: list[np.ndarray] = []
        done = 0
        began = time.perf_counter()
        with tqdm(total=stop - start, desc=f"features ({cfg.backbone})", unit="image") as bar:
            for block in batches:
                buf.append(block)
                bar.update(len(block))
                if sum(map(len, buf)) >= cfg.chunk_size:
                    done = _flush(feats, done, buf)
        _flush(feats, done, buf)
        seconds = time.perf_counter() - began
        n = stop - start
        raw = (
            f"; the forward pass alone {forward[0]:.1f} s, {n / forward[0]:.0f} images/s"
            if forward[0] > 0
            else ""
        )
        log.info(
            "features: %d images in %.1f s (%.0f images/s, %s on %s%s)",
            n,
            seconds,
            n / max(seconds, 1e-9),
            cfg.backbone,
            device,
            raw,
        )
        f.create_dataset("labels", data=dataset.labels[start:stop])
        f.create_dataset(
            "ids", data=dataset.ids[start:stop].astype(object), dtype=h5py.string_dtype()
        )
        for name in SPLITS:
            idx = dataset.split[name]
            f.create_dataset(name, data=idx[(idx >= start) & (idx < stop)])
        f.attrs["backbone"] = cfg.backbone
        f.attrs["weights"] = cfg.weights if BACKBONES[cfg.backbone].weighted else ""
        f.attrs["z"] = z
        f.attrs["n"] = len(dataset)
        f.attrs["num_classes"] = dataset.labels.shape[1]
        f.attrs["class_names"] = json.dumps(dataset.class_names)
        for key, value in (("shard", shard), ("shards", count), ("start", start), ("stop", stop)):
            f.attrs[key] = value


def _cnn_batches(
    model: nn.Module,
    view: TransformedView,
    cfg: FeatureConfig,
    device: str,
    forward: list[float],
) -> Iterator[np.ndarray]:
    """A torch backbone's float32 features of `view`, batch by batch, computed on `device`
    without autograd and with deterministic cuDNN kernels (byte-identical reruns). The
    seconds of the forward passes alone (to the features on the CPU) are added to
    ``forward[0]``, so the log sets the stage's rate against the network's raw rate."""
    import torch
    from torch.utils.data import DataLoader

    model = model.to(device).eval()
    loader = DataLoader(
        view,
        batch_size=cfg.batch_size,
        shuffle=False,
        num_workers=cfg.num_workers,
        pin_memory=torch.device(device).type == "cuda",
    )
    for x, _ in loader:
        with (
            torch.no_grad(),
            torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True),
        ):
            t0 = time.perf_counter()
            out = model(x.to(device, non_blocking=True)).float().cpu().numpy()
            forward[0] += time.perf_counter() - t0
        yield out


def _flush(feats: h5py.Dataset, done: int, buf: list[np.ndarray]) -> int:
    """Write the buffered feature blocks at row `done`, empty the buffer, return the new end."""
    if not buf:
        return done
    block = np.concatenate(buf)
    feats[done : done + len(block)] = block
    buf.clear()
    return done + len(block)
