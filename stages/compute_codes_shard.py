"""Stage compute_codes_shard: NRDH codes (Eq. 19) of one shard of queries and database."""

from nrdh.params import load_params
from nrdh.pipeline.hashing import compute_codes_shard_stage
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(
        __doc__,
        variant=True,
        paths=["features", "model", "out"],
        ints=["shard"],
        strs=["dataset"],
    )
    p = load_params(args.params, args.variant)
    compute_codes_shard_stage(
        features_path=args.features,
        model_path=args.model,
        out=args.out,
        method=args.variant,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        cfg=p.codes,
        seed=p.base.seed,
        shard=args.shard,
        count=p.shards.count,
    )


if __name__ == "__main__":
    run(main)
