"""Stage diagnose: an NRDH run's mAP split into representation, fit and generalisation
(taught, learnt and test mAP; `nrdh.diagnostics`), at every code length of base.bits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nrdh import codes, diagnostics, io, paths, shards, train
from nrdh.codes_file import read_codes
from nrdh.config import as_dict
from nrdh.data import DatasetRef
from nrdh.errors import NRDHError
from nrdh.features_file import open_features, read_rows
from nrdh.hash_network import load_hasher
from nrdh.params import CodesConfig, EvaluateConfig, GCNConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command); path templates with field bits (`nrdh.paths`)."""

    variant: str  # a key of variants: its overrides of the params
    dataset: str
    features: Path  # features.h5
    reps: str  # node_reps files
    models: str  # the hash networks
    codes: str  # their codes files
    gcn_history: str  # the GCNs' loss histories
    out: str  # the diagnostics written


def run(p: Params, args: Args) -> None:
    """The stage under params `p` (the variant's) with its flags `args`."""
    diagnose_stage(
        runs=run_files(args.reps, args.models, args.codes, args.gcn_history, args.out, p.base.bits),
        features_path=args.features,
        data=DatasetRef.of(p, args.dataset),
        codes_cfg=p.codes,
        eval_cfg=p.evaluate,
        gcn_cfg=p.gcn,
    )


class RunFiles(NamedTuple):
    """One trained run's artifacts at one code length, and where its report goes."""

    bits: int  # the code length, a value of base.bits
    reps: Path  # node_reps: g(x) of the training images
    model: Path  # the hash network's checkpoint
    codes: Path  # its query / database codes
    gcn_history: Path  # the GCN's loss history (JSON)
    out: Path  # the diagnostics (JSON)


def run_files(
    reps: str, model: str, codes: str, gcn_history: str, out: str, bits: Sequence[int]
) -> list[RunFiles]:
    """The files of one run (dataset, variant, seed) at each of `bits` (base.bits), from
    dvc.yaml's path templates of each (field bits; `nrdh.paths`)."""
    templates = (reps, model, codes, gcn_history, out)
    return [RunFiles(b, *(paths.fill(t, bits=b) for t in templates)) for b in bits]


def diagnose_stage(
    *,
    runs: Sequence[RunFiles],
    features_path: Path,
    data: DatasetRef,
    codes_cfg: CodesConfig,
    eval_cfg: EvaluateConfig,
    gcn_cfg: GCNConfig,
) -> None:
    """Split each run's mAP into representation, fit and generalisation -> its diag JSON.

    Reads g(x) (node_reps), runs the trained hash network (hasher) over the training
    images on ``codes.device``, takes the query/database codes (codes), and the GCN's last
    epoch from its loss history for beta * Lw / L1. One process serves every code length.
    """
    torch.set_num_threads(codes_cfg.threads)
    images = data.load()
    for bits, reps_path, model_path, codes_path, gcn_history_path, out in runs:
        with io.open_h5(reps_path, "node_reps") as f:
            train_idx = io.require(f, "train", np.int64, 1)[()]
            reps = io.require(f, "reps", np.float32, 2)[()]
        io.check_bits(reps_path, reps.shape[1], bits)
        with open_features(features_path) as feats:
            if not np.array_equal(feats.split["train"], train_idx):
                raise NRDHError(
                    f"{reps_path}: its training images differ from {features_path}'s train split"
                )
            labels = read_rows(feats.labels, train_idx, shards.block_rows(feats.labels.shape[1]))
        model, t_eval, meta = load_hasher(model_path)
        io.check_bits(model_path, meta["bits"], bits)
        test = read_codes(codes_path)
        io.check_bits(codes_path, test["bits"], bits)
        fch = train.hash_outputs(
            model, images.view(t_eval, train_idx), codes_cfg.batch_size, codes_cfg.device
        )
        report = diagnostics.fit_report(
            reps,
            codes.sign_to_bits(fch),
            labels,
            ties=eval_cfg.ties,
            empty_query=eval_cfg.empty_query,
            test=(
                test["query"]["codes"],
                test["database"]["codes"],
                test["query"]["labels"],
                test["database"]["labels"],
            ),
        )
        history = json.loads(Path(gcn_history_path).read_text())
        report["gcn"] = diagnostics.regulariser_share(history, gcn_cfg.beta)
        report.update(
            {
                "dataset": data.name,
                "bits": bits,
                "method": test["method"],
                "seed": meta["train_seed"],
            }
        )
        report["provenance"] = io.provenance(
            {"base.seed": data.seed, "codes": as_dict(codes_cfg), "evaluate": as_dict(eval_cfg)},
            {
                "node_reps": reps_path,
                "hasher": model_path,
                "features": features_path,
                "codes": codes_path,
                "gcn_history": gcn_history_path,
            },
        )
        io.write_json(out, report)
        print(
            f"{data.name} {test['method']} {bits} bits: mAP taught {report['map_target']:.4f}, "
            f"learnt {report['map_network']:.4f}, test {report['map_test']:.4f}, "
            f"bit agreement {report['bit_agreement']:.3f}"
        )
