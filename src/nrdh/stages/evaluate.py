"""Stage evaluate: one method's retrieval metrics at every code length, with their protocol
(numpy only, no torch: it starts fast)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from nrdh import codes, io, metrics, paths
from nrdh.codes_file import read_codes
from nrdh.params import DatasetConfig, EvaluateConfig, Params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command); path templates with field bits (`nrdh.paths`)."""

    dataset: str
    seed: int  # the run's training seed, recorded in the metrics
    codes: str  # the codes files
    metrics: str  # the metrics files written
    pr: str  # the PR curves written


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    evaluate_stage(args, bits=p.base.bits, ds_cfg=p.dataset(args.dataset), cfg=p.evaluate)


def evaluate_stage(
    args: Args, *, bits: tuple[int, ...], ds_cfg: DatasetConfig, cfg: EvaluateConfig
) -> None:
    """Stage 7: retrieval metrics with their protocol of one method's codes at every code
    length of `bits` -> a metrics file and a PR curve each (the flags' path templates of
    codes, metrics and PR files, field bits); `ds_cfg` is dataset `args.dataset`'s."""
    for b in bits:
        _evaluate(
            paths.fill(args.codes, bits=b),
            paths.fill(args.metrics, bits=b),
            paths.fill(args.pr, bits=b),
            args.dataset,
            b,
            args.seed,
            ds_cfg,
            cfg,
        )


def _evaluate(
    codes_path: Path,
    metrics_out: Path,
    pr_out: Path,
    dataset: str,
    bits: int,
    seed: int,
    ds_cfg: DatasetConfig,
    cfg: EvaluateConfig,
) -> None:
    """Metrics of one codes file."""
    c = read_codes(codes_path)
    io.check_bits(codes_path, c["bits"], bits)
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
    stats = codes.code_stats(c["database"]["codes"], bits)  # collapsed?
    report["database_codes"] = stats
    report["chance_map"] = codes.chance_map(c["query"]["labels"], c["database"]["labels"])
    report.update({"dataset": dataset, "method": c["method"], "bits": bits, "seed": seed})
    io.write_json(metrics_out, report)
    io.write_json(pr_out, pr)
    print(f"{dataset} {c['method']} {bits} bits: mAP@all {report['map_all']:.4f}")
    nb = report["protocol"]["split"]["database"]
    why = codes.degenerate_reasons(
        bits, **stats, nb=nb, map_all=report["map_all"], chance=report["chance_map"]
    )
    if why:
        log.warning(
            "warning: %s %s %d bits: degenerate codes (%s)",
            dataset,
            c["method"],
            bits,
            "; ".join(why),
        )
