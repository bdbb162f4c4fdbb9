"""Stage feature_stats: how semantic a features file is, as the graphs will see it.

numpy only (no torch): a second per dataset in the default run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import io, semantics
from nrdh.features_file import read_features
from nrdh.params import FeatureStatsConfig, GraphConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    seed: int  # the training seed whose first graph partition is measured
    features: Path  # features.h5
    out: Path  # the measures (JSON)


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    feature_stats_stage(
        features_path=args.features,
        out=args.out,
        graph_cfg=p.graph,
        cfg=p.feature_stats,
        seed=args.seed,
    )


def feature_stats_stage(
    *, features_path: Path, out: Path, graph_cfg: GraphConfig, cfg: FeatureStatsConfig, seed: int
) -> None:
    """Stage feature_stats: how semantic a features file is (`nrdh.semantics`) -> JSON:
    neighbours above graph.rho in the M-node batches of training seed `seed` and globally,
    and the kNN label precision, with what they were measured on."""
    feats = read_features(features_path)
    stats = semantics.feature_stats(feats, graph_cfg.M, graph_cfg.rho, seed, cfg.k)
    io.write_json(
        out,
        {
            **stats,
            "backbone": feats.attrs["backbone"],
            "protocol": {
                "M": graph_cfg.M,
                "rho": graph_cfg.rho,
                "k": cfg.k,
                "seed": seed,
                "n_train": len(feats.split["train"]),
                "n_query": len(feats.split["query"]),
                "n_database": len(feats.split["database"]),
                "batching": "random (build_graphs' first partition)",
                "similarity": "cosine",
            },
        },
    )
