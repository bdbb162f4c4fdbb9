"""Stage feature_stats: how semantic a features file is, as the graphs will see it.

numpy only (no torch): a second per dataset in the default run.
"""

from __future__ import annotations

from pathlib import Path

from nrdh import feature_stats, io
from nrdh.artifacts import read_features
from nrdh.params import FeatureStatsConfig, GraphConfig


def feature_stats_stage(
    *, features_path: Path, out: Path, graph_cfg: GraphConfig, cfg: FeatureStatsConfig, seed: int
) -> None:
    """Stage feature_stats: how semantic a features file is (`nrdh.feature_stats`) -> JSON:
    neighbours above graph.rho in the M-node batches of training seed `seed` and globally,
    and the kNN label precision, with what they were measured on."""
    feats = read_features(features_path)
    stats = feature_stats.feature_stats(feats, graph_cfg.M, graph_cfg.rho, seed, cfg.k)
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
