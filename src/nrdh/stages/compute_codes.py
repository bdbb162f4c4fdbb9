"""Stage compute_codes: each code length's shards merged into its codes file (torch-free;
peer_codes runs it too)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nrdh import paths
from nrdh.codes_file import merge_codes
from nrdh.params import Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    features: Path  # features.h5 the shards were computed from
    shards: str  # the shard files' path template, fields shard and bits (`nrdh.paths`)
    out: str  # the codes files' path template, field bits


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    merge_codes_stage(
        shards_template=args.shards,
        count=p.shards.count,
        features_path=args.features,
        out_template=args.out,
        bits=p.base.bits,
    )


def merge_codes_stage(
    *,
    shards_template: str,
    count: int,
    features_path: Path,
    out_template: str,
    bits: Sequence[int],
) -> None:
    """Stage compute_codes: the shard files of each code length of `bits` (path template
    with fields shard and bits) merged into its codes file (template with field bits; one
    process: merging is a copy)."""
    for b in bits:
        shard_files = [paths.fill(shards_template, shard=i, bits=b) for i in range(count)]
        merge_codes(shard_files, features_path, paths.fill(out_template, bits=b), b)
