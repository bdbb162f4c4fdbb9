"""Baselines, evaluation and the summary: numpy-only stages that start fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nrdh import baselines, io, metrics
from nrdh.artifacts import read_features
from nrdh.config import as_dict
from nrdh.errors import NRDHError
from nrdh.pipeline.common import (
    BaselinesConfig,
    EvaluateConfig,
    dataset_config,
    load_section,
    read_codes,
    seed_of,
    write_codes,
)


def baseline_codes_stage(
    params: dict[str, Any], method: str, bits: int, features_path: Path, out: Path
) -> None:
    """Classic baselines (LSH, PCAH, ITQ, SH) fitted on the training features -> codes."""
    seed = seed_of(params)
    cfg = load_section(params, "baselines", BaselinesConfig)
    feats = read_features(features_path)
    options = {"iterations": cfg.itq_iterations} if method == "itq" else {}
    model = baselines.fit_baseline(
        method, feats.features[feats.split["train"]], bits, seed, **options
    )
    prov = io.provenance(
        {"base.seed": seed, "baselines": as_dict(cfg), "method": method, "bits": bits},
        {"features": features_path},
    )
    write_codes(
        out,
        method,
        bits,
        feats,
        model.encode(feats.features[feats.split["query"]]),
        model.encode(feats.features[feats.split["database"]]),
        prov,
        model.state(),
    )


def evaluate_stage(
    params: dict[str, Any],
    dataset: str,
    bits: int,
    codes_path: Path,
    metrics_out: Path,
    pr_out: Path,
) -> None:
    """Stage 7: retrieval metrics with their protocol -> eval_<bits>.json and pr_<bits>.json."""
    cfg = load_section(params, "evaluate", EvaluateConfig)
    ds_cfg = dataset_config(params, dataset)
    c = read_codes(codes_path)
    if c["bits"] != bits:
        raise NRDHError(f"{codes_path}: attr bits={c['bits']}, but the stage asks for bits={bits}")
    # datasets.<name>.topk: unset = evaluate.topk; 0 = mAP@all (no cut-off, topk None)
    topk = cfg.topk if ds_cfg.topk is None else (ds_cfg.topk or None)
    report = metrics.retrieval_report(
        c["query"]["codes"],
        c["database"]["codes"],
        c["query"]["labels"],
        c["database"]["labels"],
        bits=bits,
        topk=topk,
        radius=cfg.radius,
        ks=cfg.ks,
        ties=cfg.ties,
        empty_query=cfg.empty_query,
    )
    pr = report.pop("pr_curve")
    report["precision_at_recall"] = metrics.precision_at_recall(
        c["query"]["codes"],
        c["database"]["codes"],
        c["query"]["labels"],
        c["database"]["labels"],
        bits=bits,
        ties=cfg.ties,
        empty_query=cfg.empty_query,
    )
    report["protocol"].update(
        {
            "dataset": dataset,
            "method": c["method"],
            "split": {"query": len(c["query"]["index"]), "database": len(c["database"]["index"])},
        }
    )
    report.update({"dataset": dataset, "method": c["method"], "bits": bits})
    io.write_json(metrics_out, report)
    io.write_json(pr_out, pr)
    print(f"{dataset} {c['method']} {bits} bits: mAP@all {report['map_all']:.4f}")
