"""Classic baseline codes: a torch-free stage that fits LSH, PCAH, ITQ, SH or random codes."""

from __future__ import annotations

from pathlib import Path

from nrdh import baselines, io, paths
from nrdh.artifacts import Features, read_features
from nrdh.config import as_dict
from nrdh.params import BaselinesConfig
from nrdh.pipeline.common import write_codes


def baseline_codes_stage(
    *,
    features_path: Path,
    out_template: str,
    method: str,
    bits: tuple[int, ...],
    cfg: BaselinesConfig,
    seed: int,
) -> None:
    """A classic baseline (LSH, PCAH, ITQ, SH, random) fitted on the training features at
    every code length of `bits` -> its codes file (dvc.yaml's path template, field bits; one
    process: each fit takes a fraction of a second)."""
    feats = read_features(features_path)
    for b in bits:
        out = paths.fill(out_template, bits=b)
        _baseline_codes(feats, features_path, out, method, b, cfg, seed)


def _baseline_codes(
    feats: Features,
    features_path: Path,
    out: Path,
    method: str,
    bits: int,
    cfg: BaselinesConfig,
    seed: int,
) -> None:
    """One baseline at one code length -> its codes file."""
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
