"""Stage extract_features_shard: features, labels, ids and split of one shard of rows.

numpy only for the pixel backbone, so the default run's feature processes never import
torch (seconds each); the CNN backbones import it when built (`nrdh.backbones`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import features, features_file, io, shards
from nrdh.config import as_dict
from nrdh.data import load_dataset
from nrdh.feature_net import network_file
from nrdh.params import DatasetConfig, FeatureConfig, Params
from nrdh.sources import content_digest, refresh_snapshot


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    dataset: str
    shard: int  # which of shards.count
    net: Path  # train_feature_net's folder (the simclr backbone's encoder)
    out: Path  # the shard file


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    ds_cfg = p.dataset(args.dataset)
    refresh_snapshot(args.dataset, ds_cfg)  # Snakemake's view of the data
    extract_shard_stage(
        out=args.out,
        dataset=args.dataset,
        ds_cfg=ds_cfg,
        f_cfg=p.features_for(args.dataset),
        seed=p.base.seed,
        shard=args.shard,
        count=p.shards.count,
        net_dir=args.net,
    )


def extract_features_stage(
    *,
    out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    f_cfg: FeatureConfig,
    seed: int,
    net_dir: Path | None = None,
) -> None:
    """Stage 1 unsharded: features.h5 in one call (one shard, merged: the same bytes as any
    sharded run)."""
    shards.run_unsharded(
        lambda shard: extract_shard_stage(
            out=shard,
            dataset=dataset,
            ds_cfg=ds_cfg,
            f_cfg=f_cfg,
            seed=seed,
            shard=0,
            count=1,
            net_dir=net_dir,
        ),
        lambda folder: features_file.merge_features(shards.shard_paths(folder, 1), out),
        out,
    )


def extract_shard_stage(
    *,
    out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    f_cfg: FeatureConfig,
    seed: int,
    shard: int,
    count: int,
    net_dir: Path | None = None,
) -> None:
    """Stage 1: features, labels, ids and split members of shard `shard` of `count`; the
    simclr backbone's encoder comes from the train_feature_net folder `net_dir`."""
    images = load_dataset(ds_cfg, seed)
    network = network_file(net_dir, f_cfg.backbone)
    prov = io.provenance(
        {"base.seed": seed, f"datasets.{dataset}": as_dict(ds_cfg), "features": as_dict(f_cfg)},
        {"feature_net": network} if network else None,
    )
    prov["inputs"]["data"] = content_digest(ds_cfg)  # the images and list files read
    features.extract_shard(images, f_cfg, out, prov, shard, count, network)
