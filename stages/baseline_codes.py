"""Stage baseline_codes: a classic hashing baseline (LSH, PCAH, ITQ, SH, random) -> codes.h5."""

from nrdh.params import load_params
from nrdh.pipeline.evaluation import baseline_codes_stage
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(__doc__, paths=["features", "out"], ints=["bits"], strs=["method"])
    p = load_params(args.params)
    baseline_codes_stage(
        features_path=args.features,
        out=args.out,
        method=args.method,
        bits=args.bits,
        cfg=p.baselines,
        seed=p.base.seed,
    )


if __name__ == "__main__":
    run(main)
