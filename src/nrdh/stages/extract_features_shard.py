"""Stage extract_features_shard: features, labels, ids and split of one shard of rows.

numpy only for the pixel backbone, so the default run's feature processes never import
torch (seconds each); the CNN backbones import it when built (`nrdh.backbones`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import features, features_file, io, shards
from nrdh.config import as_dict
from nrdh.data import DatasetRef
from nrdh.feature_net import network_file
from nrdh.params import FeatureConfig, Params
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
    data = DatasetRef.of(p, args.dataset)
    refresh_snapshot(data.name, data.cfg)  # Snakemake's view of the data
    extract_shard_stage(
        out=args.out,
        data=data,
        f_cfg=p.features_for(args.dataset),
        shard=args.shard,
        count=p.shards.count,
        net_dir=args.net,
    )


def extract_features_stage(
    *,
    out: Path,
    data: DatasetRef,
    f_cfg: FeatureConfig,
    net_dir: Path | None = None,
) -> None:
    """Stage 1 unsharded: features.h5 in one call (one shard, merged: the same bytes as any
    sharded run)."""
    shards.run_unsharded(
        lambda shard: extract_shard_stage(
            out=shard,
            data=data,
            f_cfg=f_cfg,
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
    data: DatasetRef,
    f_cfg: FeatureConfig,
    shard: int,
    count: int,
    net_dir: Path | None = None,
) -> None:
    """Stage 1: features, labels, ids and split members of shard `shard` of `count`; the
    simclr backbone's encoder comes from the train_feature_net folder `net_dir`."""
    images = data.load()
    network = network_file(net_dir, f_cfg.backbone)
    prov = io.provenance(
        {
            "base.seed": data.seed,
            f"datasets.{data.name}": as_dict(data.cfg),
            "features": as_dict(f_cfg),
        },
        {"feature_net": network} if network else None,
    )
    prov["inputs"]["data"] = content_digest(data.cfg)  # the images and list files read
    features.extract_shard(images, f_cfg, out, prov, shard, count, network)
