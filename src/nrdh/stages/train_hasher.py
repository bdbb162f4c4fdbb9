"""Stage train_hasher: the hash network of one code length fitted to g(x) (Eq. 18)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nrdh import io, objectives
from nrdh.hash_network import HasherArgs, HasherJob, fit_hash_network
from nrdh.params import Params


@dataclass(frozen=True)
class Args(HasherArgs):
    """The stage's flags (dvc.yaml's command): the training stages' own, and these."""

    variant: str  # a key of variants: its overrides of the params
    reps: Path  # node_reps_<bits>.h5: g(x) of the training images


def run(p: Params, args: Args) -> None:
    """The stage under params `p` (the variant's) with its flags `args`."""
    train_hasher_stage(reps_path=args.reps, job=HasherJob.of(p, args, p.hasher))


def train_hasher_stage(*, reps_path: Path, job: HasherJob) -> None:
    """Stage 5: the `job.bits`-bit hash network fitted to the node representations of
    `reps_path` (Eq. 18)."""
    with io.open_h5(reps_path, "node_reps") as f:
        train_idx = io.require(f, "train", np.int64, 1)[()]
        reps = io.require(f, "reps", np.float32, 2)[()]
    io.check_bits(reps_path, reps.shape[1], job.bits)
    images = job.data.load()
    targets = np.zeros((len(images), reps.shape[1]), np.float32)  # g(x) by image index
    targets[train_idx] = reps
    cfg = job.cfg
    objective = objectives.NRDH(targets, cfg.mu, cfg.omega, cfg.bce_target)
    fit_hash_network(job, images, train_idx, objective, {"node_reps": reps_path})
