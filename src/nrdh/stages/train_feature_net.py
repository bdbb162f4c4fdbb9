"""Stage train_feature_net: the self-supervised feature network, or a note that none is used.

The stage is always in the DAG, before the feature shards. With ``features.backbone:
simclr`` it trains the encoder (`nrdh.simclr`) and writes its checkpoint and loss
history into its folder; with any other backbone it writes only a small ``none.json`` and
never imports torch, so the default run pays a fraction of a second for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import io
from nrdh.config import as_dict
from nrdh.data import DatasetRef
from nrdh.feature_net import HISTORY, NETWORK, NO_NETWORK, save_encoder
from nrdh.params import FeatureConfig, FeatureNetConfig, Params
from nrdh.sources import refresh_snapshot


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    dataset: str
    out: Path  # the network's folder


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    data = DatasetRef.of(p, args.dataset)
    refresh_snapshot(data.name, data.cfg)  # Snakemake's view of the data
    train_feature_net_stage(
        out=args.out, data=data, f_cfg=p.features_for(args.dataset), cfg=p.feature_net
    )


def train_feature_net_stage(
    *,
    out: Path,
    data: DatasetRef,
    f_cfg: FeatureConfig,
    cfg: FeatureNetConfig,
) -> None:
    """The SimCLR encoder of `data`'s training images -> out/encoder.pt and
    out/history.json; for another backbone out/none.json (no network, torch not imported)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (NETWORK, HISTORY, NO_NETWORK):  # a run by hand must not leave stale files
        (out / name).unlink(missing_ok=True)
    if f_cfg.backbone != "simclr":
        io.write_json(out / NO_NETWORK, {"backbone": f_cfg.backbone, "network": None})
        return
    from nrdh.device import resolve_device
    from nrdh.simclr import feature_statistics, train_simclr

    images = data.load()
    device = resolve_device(f_cfg.device)
    prov = io.provenance(
        {
            "base.seed": data.seed,
            f"datasets.{data.name}": as_dict(data.cfg),
            "features.backbone": f_cfg.backbone,
            "features.device": f_cfg.device,
            "feature_net": as_dict(cfg),
        }
    )
    encoder, history = train_simclr(images, cfg, device)
    stats = feature_statistics(encoder, images, cfg.batch_size) if cfg.standardise else None
    save_encoder(encoder, stats, cfg.threads, prov, out / NETWORK)
    io.write_json(out / HISTORY, history)
