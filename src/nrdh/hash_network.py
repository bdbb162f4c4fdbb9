"""The hash network (Table 2): built from its architecture's arguments, trained with any
method's objective, and rebuilt from its checkpoint.

Written once for NRDH and the deep peers: their training stages (`nrdh.stages.train_hasher`,
`nrdh.stages.train_peer`) differ only in the objective, and the code stages load every
method's network with `load_hasher`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrdh import backbones, io, objectives, train
from nrdh.config import as_dict
from nrdh.data import DatasetRef, ImageSet, ScaledTensor, image_channels
from nrdh.models import HashNet
from nrdh.params import HasherConfig, Params, dataset_from_mapping


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


@dataclass(frozen=True)
class HasherArgs:
    """The flags both training stages take (the base of their `Args`; dvc.yaml's commands)."""

    out: Path  # the checkpoint
    history: Path  # its loss history (JSON)
    dataset: str  # a key of datasets
    bits: int  # the code length
    seed: int  # one of base.seeds


@dataclass(frozen=True)
class HasherJob:
    """One hash network to train, as both training stages (NRDH's train_hasher and a deep
    peer's train_peer) give it to `fit_hash_network`: where it goes and what it is trained
    with, apart from the method's own objective."""

    out: Path  # the checkpoint
    history_out: Path  # its loss history (JSON)
    data: DatasetRef  # the images it is trained on, and their split
    cfg: HasherConfig  # hasher, with a peer's own overrides applied
    bits: int  # the code length
    seed: int  # one of base.seeds: the network's initialisation and batch order

    @classmethod
    def of(cls, p: Params, flags: HasherArgs, cfg: HasherConfig) -> HasherJob:
        """The job a training stage's flags describe under params `p`, trained with `cfg`."""
        return cls(
            out=flags.out,
            history_out=flags.history,
            data=DatasetRef.of(p, flags.dataset),
            cfg=cfg,
            bits=flags.bits,
            seed=flags.seed,
        )


def fit_hash_network(
    job: HasherJob,
    images: ImageSet,
    train_idx: np.ndarray,
    objective: objectives.Objective,
    inputs: dict[str, Path],
    method_params: dict[str, Any] | None = None,
) -> None:
    """The hash network (backbone + Table 2 head) trained on the images `train_idx` with
    `objective` (NRDH's Eq. 18 or a deep peer's) -> its checkpoint at `job.out` and loss
    history. One loop and one checkpoint format for every method, so codes are computed the
    same way; the provenance records the params read (`method_params`: the method's own)
    and `inputs`."""
    cfg = job.cfg
    prov = io.provenance(
        {
            "base.seed": job.data.seed,
            "seed": job.seed,
            "hasher": as_dict(cfg),
            f"datasets.{job.data.name}": as_dict(job.data.cfg),
            **(method_params or {}),
        },
        inputs,
    )
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(job.seed)
    backbone = resolve_backbone(cfg.backbone, cfg.image_size, images[0].size)
    arch = {
        "backbone": backbone,
        "bits": job.bits,
        "channels": image_channels(images),
        "image_size": cfg.image_size,
    }
    model, t_train, t_eval = hash_network(**arch, weights=cfg.weights, augment=cfg.augment)
    history = train.train_hasher(
        model,
        images.view(objective.view_transform(t_train, t_eval), train_idx),
        objective,
        cfg,
        job.seed,
        job.out.with_name(job.out.name + ".ckpt"),
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
            "dataset": job.data.name,
            "provenance": prov,
            "state_dict": model.state_dict(),
        },
        job.out,
    )
    io.write_json(job.history_out, history)


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
