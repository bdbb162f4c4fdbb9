"""Stage baseline_codes: a classic hashing baseline's codes at every code length of base.bits."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.baseline_codes import baseline_codes_stage

    args = parse_args(__doc__, paths=["features"], ints=["seed"], strs=["method", "out"])
    p = load_params(args.params)
    baseline_codes_stage(
        features_path=args.features,
        out_template=args.out,
        method=args.method,
        bits=p.base.bits,
        cfg=p.baselines,
        seed=args.seed,
    )


if __name__ == "__main__":
    run(main)
