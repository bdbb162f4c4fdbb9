"""Stage extract_features_shard: features, labels, ids and split of one shard of rows.

numpy only for the pixel backbone, so the default run's feature processes never import
torch (seconds each); the CNN backbones import it when built (`nrdh.backbones`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import features, io
from nrdh.config import as_dict
from nrdh.data import DatasetRef, ImageSet
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
    """Stage 1 unsharded: features.h5 in one call (`nrdh.features.extract_features`: one
    shard, merged, the same bytes as any sharded run)."""
    images, prov, network = _inputs(data, f_cfg, net_dir)
    features.extract_features(images, f_cfg, out, prov, network)


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
    images, prov, network = _inputs(data, f_cfg, net_dir)
    features.extract_shard(images, f_cfg, out, prov, shard, count, network)


def _inputs(
    data: DatasetRef, f_cfg: FeatureConfig, net_dir: Path | None
) -> tuple[ImageSet, dict, Path | None]:
    """The images of `data`, the provenance their features record, and the simclr
    encoder's checkpoint in `net_dir` (None for the other backbones)."""
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
    return images, prov, network
