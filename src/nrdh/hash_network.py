"""Stage 2 (hash function learning): the hash network and NRDH codes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from nrdh import backbones, codes, io, objectives, paths, shards, train
from nrdh.artifacts import open_features
from nrdh.config import as_dict
from nrdh.data import ImageSet, ScaledTensor, image_channels, load_dataset
from nrdh.models import HashNet
from nrdh.params import CodesConfig, DatasetConfig, HasherConfig, dataset_from_mapping
from nrdh.pipeline.common import merge_codes


def hasher_transforms(
    image_size: int | None, augment: bool, eval_transform: Any | None
) -> tuple[Any, Any]:
    """(train, eval) image transforms of the hash network.

    small_cnn, flat_cnn: optional resize to `image_size`, then `ScaledTensor` (tensor in
    [-1, 1]). resnet18, efficientnet_lite0: the trunk's own preprocessing (`eval_transform`).
    `augment` adds a padded random crop (small CNNs) or a random horizontal flip (ImageNet
    trunks) to the training transform only. torchvision is imported only for a resize or an
    augmentation.
    """
    if eval_transform is None and not (image_size or augment):
        return ScaledTensor(), ScaledTensor()
    from torchvision import transforms as T

    if eval_transform is None:
        size = [T.Resize(image_size)] if image_size else []
        eval_transform = T.Compose([*size, ScaledTensor()])
        aug = [T.RandomCrop(image_size or 8, padding=max(1, (image_size or 8) // 8))]
    else:
        aug = [T.RandomHorizontalFlip()]
    train_transform = T.Compose([*aug, eval_transform]) if augment else eval_transform
    return train_transform, eval_transform


SMALL_SIDE = 8  # hasher.backbone auto: small_cnn up to this input side, flat_cnn above


def resolve_backbone(backbone: str, image_size: int, native: tuple[int, int]) -> str:
    """hasher.backbone as built: "auto" is small_cnn where the network's input (`image_size`,
    else the images' `native` (W, H)) is at most 8x8, flat_cnn otherwise: small_cnn's global
    pool forgets where the strokes are on anything larger (docs/METHOD.md)."""
    if backbone != "auto":
        return backbone
    side = image_size or max(native)
    return "small_cnn" if side <= SMALL_SIDE else "flat_cnn"


def hash_network(
    *,
    backbone: str,
    bits: int,
    channels: int,
    image_size: int | None,
    weights: str = "none",
    augment: bool = False,
) -> tuple[HashNet, Any, Any]:
    """Build (network, train transform, eval transform) for a backbone of `channels` input
    channels and a `bits`-bit head.

    The four arguments without defaults are what a checkpoint stores ("arch") to rebuild its
    network and eval transform; `weights` (pretrained, overwritten by the checkpoint's own)
    and `augment` (training only) matter for training alone.
    """
    trunk, t_eval, feat_dim = backbones.build_backbone(
        backbone, weights, channels=channels, image_size=image_size or 0
    )
    assert isinstance(trunk, torch.nn.Module)  # hasher.backbone names torch trunks only
    t_train, t_eval = hasher_transforms(image_size, augment, t_eval)
    # Channels-last weights make every convolution, batch norm and pooling layer run on
    # (B, H, W, C) tensors, whose CPU kernels are vectorised over channels: a training step
    # of flat_cnn on the 16x16 mosaics took 16 ms instead of 24 on one thread.
    net = HashNet(trunk, feat_dim, bits).to(memory_format=torch.channels_last)
    return net, t_train, t_eval


def train_hasher_stage(
    *,
    reps_path: Path,
    out: Path,
    history_out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    cfg: HasherConfig,
    bits: int,
    data_seed: int,
    seed: int,
) -> None:
    """Stage 5: the `bits`-bit hash network fitted to node representations (Eq. 18).

    `data_seed` (base.seed) fixes the dataset's split; `seed` the network's initialisation and
    batch order (one of base.seeds)."""
    with io.open_h5(reps_path, "node_reps") as f:
        train_idx = io.require(f, "train", np.int64, 1)[()]
        reps = io.require(f, "reps", np.float32, 2)[()]
    io.check_bits(reps_path, reps.shape[1], bits)
    images = load_dataset(ds_cfg, data_seed)
    targets = np.zeros((len(images), reps.shape[1]), np.float32)  # g(x) by image index
    targets[train_idx] = reps
    fit_hash_network(
        images=images,
        train_idx=train_idx,
        objective=objectives.NRDH(targets, cfg.mu, cfg.omega, cfg.bce_target),
        bits=bits,
        out=out,
        history_out=history_out,
        dataset=dataset,
        ds_cfg=ds_cfg,
        cfg=cfg,
        data_seed=data_seed,
        seed=seed,
        inputs={"node_reps": reps_path},
    )


def fit_hash_network(
    *,
    images: ImageSet,
    train_idx: np.ndarray,
    objective: objectives.Objective,
    bits: int,
    out: Path,
    history_out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    cfg: HasherConfig,
    data_seed: int,
    seed: int,
    inputs: dict[str, Path],
    extra_params: dict[str, Any] | None = None,
) -> None:
    """The hash network (backbone + Table 2 head) trained on `train_idx` with `objective`
    (NRDH's Eq. 18 or a deep peer's) -> its checkpoint at `out` and loss history. One loop
    and one checkpoint format for every method, so codes are computed the same way; the
    provenance records the params read (`extra_params`: the method's own) and `inputs`."""
    prov = io.provenance(
        {
            "base.seed": data_seed,
            "seed": seed,
            "hasher": as_dict(cfg),
            f"datasets.{dataset}": as_dict(ds_cfg),
            **(extra_params or {}),
        },
        inputs,
    )
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    backbone = resolve_backbone(cfg.backbone, cfg.image_size, images[0].size)
    arch = {
        "backbone": backbone,
        "bits": bits,
        "channels": image_channels(images),
        "image_size": cfg.image_size,
    }
    model, t_train, t_eval = hash_network(**arch, weights=cfg.weights, augment=cfg.augment)
    history = train.train_hasher(
        model,
        images.view(objective.view_transform(t_train, t_eval), train_idx),
        objective,
        cfg,
        seed,
        out.with_name(out.name + ".ckpt"),
        train.config_digest(prov),
    )
    io.save_torch(
        {
            "kind": "hasher",
            "schema_version": io.CHECKPOINT_SCHEMA_VERSION,
            "arch": arch,
            # (W, H) the network was trained on; None when its transform resizes anyway
            "input_size": None
            if backbones.BACKBONES[backbone].resizes or cfg.image_size
            else images[0].size,
            "dataset": dataset,
            "provenance": prov,
            "state_dict": model.state_dict(),
        },
        out,
    )
    io.write_json(history_out, history)


def load_hasher(path: Path) -> tuple[HashNet, Any, dict[str, Any]]:
    """Rebuild a trained hash network and its eval transform from its checkpoint's own
    constructor arguments (not the params model, so it loads whatever keys hasher gains),
    with its metadata (bits, channels, input_size, dataset, dataset_config, seed,
    train_seed)."""
    ckpt = io.load_torch(path, "hasher")
    model, _, t_eval = hash_network(**ckpt["arch"])
    model.load_state_dict(ckpt["state_dict"])
    params = ckpt["provenance"]["params"]
    meta = {
        "bits": ckpt["arch"]["bits"],
        "channels": ckpt["arch"]["channels"],
        "input_size": ckpt["input_size"],
        "dataset": ckpt["dataset"],
        "dataset_config": dataset_from_mapping(
            params[f"datasets.{ckpt['dataset']}"], f"{path}:dataset"
        ),
        "seed": params["base.seed"],
        "train_seed": params["seed"],  # one of base.seeds: initialisation and batch order
    }
    return model.eval(), t_eval, meta


def compute_codes_stage(
    *,
    features_path: Path,
    model_path: Path,
    out: Path,
    method: str,
    dataset: str,
    ds_cfg: DatasetConfig,
    cfg: CodesConfig,
    bits: int,
    data_seed: int,
) -> None:
    """Stage 6 unsharded: the codes file of a `bits`-bit network in one call (one shard,
    merged: the same bytes as any sharded run)."""
    shards.run_unsharded(
        lambda shard: compute_codes_shard_stage(
            features_path=features_path,
            runs=[CodeRun(bits, model_path, shard)],
            method=method,
            dataset=dataset,
            ds_cfg=ds_cfg,
            cfg=cfg,
            data_seed=data_seed,
            shard=0,
            count=1,
        ),
        lambda folder: merge_codes(shards.shard_paths(folder, 1), features_path, out, bits),
        out,
    )


class CodeRun(NamedTuple):
    """One code length of a code stage: its trained hash network and the codes file it makes."""

    bits: int
    model: Path
    out: Path


def code_runs(models_template: str, out_template: str, bits: Sequence[int]) -> list[CodeRun]:
    """The run of each code length of `bits` (base.bits), from dvc.yaml's path templates of
    the hash networks and the codes files (field bits; `nrdh.paths`)."""
    return [
        CodeRun(b, paths.fill(models_template, bits=b), paths.fill(out_template, bits=b))
        for b in bits
    ]


def compute_codes_shard_stage(
    *,
    features_path: Path,
    runs: Sequence[CodeRun],
    method: str,
    dataset: str,
    ds_cfg: DatasetConfig,
    cfg: CodesConfig,
    data_seed: int,
    shard: int,
    count: int,
) -> None:
    """Stage 6: NRDH codes (Eq. 19: bit = 1 where fch >= 0) of shard `shard` of `count` of
    the queries and of the database, streamed block by block into a ``codes_shard`` file,
    for each code length of `runs` (its network and shard file; one process for all).

    The network runs on ``codes.device``, not the device recorded at training time."""
    with open_features(features_path) as feats:
        split = feats.split
    images = load_dataset(ds_cfg, data_seed)
    torch.set_num_threads(cfg.threads)
    for bits, model_path, out in runs:
        model, t_eval, meta = load_hasher(model_path)
        io.check_bits(model_path, meta["bits"], bits)
        batch = cfg.batch_size
        block = shards.block_rows(4 * bits, batch)  # fch rows held at once
        prov = io.provenance(
            {"base.seed": data_seed, f"datasets.{dataset}": as_dict(ds_cfg), "codes": as_dict(cfg)},
            {"features": features_path, "hasher": model_path},
        )
        with io.create_h5(out, "codes_shard", prov) as f:
            for name in ("query", "database"):
                idx = split[name]
                start, stop = shards.shard_rows(len(idx), shard, count, batch)
                dst = f.create_dataset(
                    f"{name}/codes", shape=(stop - start, codes.n_bytes(bits)), dtype=np.uint8
                )
                for a in range(start, stop, block):
                    view = images.view(t_eval, idx[a : min(a + block, stop)])
                    fch = train.hash_outputs(model, view, batch, cfg.device)
                    dst[a - start : a - start + len(fch)] = codes.pack_codes(
                        codes.sign_to_bits(fch)
                    )
            for key, value in (("shard", shard), ("shards", count), ("bits", bits)):
                f.attrs[key] = value
            f.attrs["method"] = method
