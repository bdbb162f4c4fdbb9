"""Stage compute_codes_shard: a run's trained hash networks' codes (Eq. 19) of one shard of
rows, at every code length of base.bits, for NRDH and the deep peers alike (peer_codes_shard
runs it too)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nrdh import codes, io, paths, shards, train
from nrdh.codes_file import merge_codes
from nrdh.config import as_dict
from nrdh.data import DatasetRef
from nrdh.features_file import open_features
from nrdh.hash_network import load_hasher
from nrdh.params import CodesConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    features: Path  # features.h5: the query and database rows
    shard: int  # which of shards.count
    method: str  # recorded in the codes
    dataset: str
    models: str  # the hash networks' path template, field bits (`nrdh.paths`)
    out: str  # the codes shard files' path template, field bits


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`: every code length of base.bits."""
    compute_codes_shard_stage(
        CodesJob.of(p, args),
        code_runs(args.models, args.out, p.base.bits),
        shard=args.shard,
        count=p.shards.count,
    )


@dataclass(frozen=True)
class CodesJob:
    """What every code length of a code stage shares, sharded or not: the rows, the method
    the codes are recorded under, the images and how the networks run."""

    features: Path  # features.h5: the query and database rows
    method: str  # recorded in the codes
    data: DatasetRef  # the images the networks encode
    cfg: CodesConfig  # codes: device, batch size, threads

    @classmethod
    def of(cls, p: Params, flags: Args) -> CodesJob:
        """The job the stage's flags describe under params `p`."""
        return cls(flags.features, flags.method, DatasetRef.of(p, flags.dataset), p.codes)


def compute_codes_stage(job: CodesJob, *, model_path: Path, out: Path, bits: int) -> None:
    """Stage 6 unsharded: the codes file of a `bits`-bit network in one call (one shard,
    merged: the same bytes as any sharded run)."""
    shards.run_unsharded(
        lambda shard: compute_codes_shard_stage(
            job, [CodeRun(bits, model_path, shard)], shard=0, count=1
        ),
        lambda folder: merge_codes(shards.shard_paths(folder, 1), job.features, out, bits),
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
    job: CodesJob, runs: Sequence[CodeRun], *, shard: int, count: int
) -> None:
    """Stage 6: NRDH codes (Eq. 19: bit = 1 where fch >= 0) of shard `shard` of `count` of
    the queries and of the database, streamed block by block into a ``codes_shard`` file,
    for each code length of `runs` (its network and shard file; one process for all).

    The network runs on ``codes.device``, not the device recorded at training time."""
    features_path, data, cfg = job.features, job.data, job.cfg
    with open_features(features_path) as feats:
        split = feats.split
    images = data.load()
    torch.set_num_threads(cfg.threads)
    for bits, model_path, out in runs:
        model, t_eval, meta = load_hasher(model_path)
        io.check_bits(model_path, meta["bits"], bits)
        batch = cfg.batch_size
        block = shards.block_rows(4 * bits, batch)  # fch rows held at once
        prov = io.provenance(
            {
                "base.seed": data.seed,
                f"datasets.{data.name}": as_dict(data.cfg),
                "codes": as_dict(cfg),
            },
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
            f.attrs["method"] = job.method
