"""Stage extract_features: the feature shards merged -> features.h5 (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh.features_file import merge_features
from nrdh.params import Params
from nrdh.paths import fill


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    shards: str  # the shard files' path template, field shard (`nrdh.paths`)
    out: Path  # features.h5


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`: shards 0 .. shards.count - 1."""
    merge_features([fill(args.shards, shard=i) for i in range(p.shards.count)], out=args.out)
