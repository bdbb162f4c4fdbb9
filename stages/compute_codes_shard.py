"""Stage compute_codes_shard: a run's trained hash networks' codes (Eq. 19) of one shard of
rows, at every code length of base.bits (--models, --out: path templates with {bits})."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.hashing import code_runs, compute_codes_shard_stage

    args = parse_args(
        __doc__,
        paths=["features"],
        ints=["shard"],
        strs=["method", "dataset", "models", "out"],
    )
    p = load_params(args.params)
    compute_codes_shard_stage(
        features_path=args.features,
        runs=code_runs(args.models, args.out, p.base.bits),
        method=args.method,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        cfg=p.codes,
        data_seed=p.base.seed,
        shard=args.shard,
        count=p.shards.count,
    )


if __name__ == "__main__":
    run(main)
