"""Stage baseline_codes: a classic baseline (LSH, PCAH, ITQ, SH, random) fitted at every code
length of base.bits (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import baselines, io, paths
from nrdh.codes_file import write_codes
from nrdh.config import as_dict
from nrdh.features_file import Features, read_features
from nrdh.params import BaselinesConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    method: str  # one of nrdh.baselines.METHODS
    seed: int  # one of base.seeds
    features: Path  # features.h5
    out: str  # the codes files' path template, field bits (`nrdh.paths`)


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    baseline_codes_stage(args, bits=p.base.bits, cfg=p.baselines)


def baseline_codes_stage(args: Args, *, bits: tuple[int, ...], cfg: BaselinesConfig) -> None:
    """A classic baseline (`args.method`: LSH, PCAH, ITQ, SH, random) fitted on the training
    features at every code length of `bits` -> its codes file (the flags' path template,
    field bits; one process: each fit takes a fraction of a second)."""
    feats = read_features(args.features)
    for b in bits:
        out = paths.fill(args.out, bits=b)
        _baseline_codes(feats, args.features, out, args.method, b, cfg, args.seed)


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
