"""Stage compute_codes_shard: a trained hash network's codes (Eq. 19) of one shard of rows."""

from nrdh.params import load_params
from nrdh.pipeline.hashing import compute_codes_shard_stage
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(
        __doc__,
        paths=["features", "model", "out"],
        ints=["shard"],
        strs=["method", "dataset"],
    )
    p = load_params(args.params)
    compute_codes_shard_stage(
        features_path=args.features,
        model_path=args.model,
        out=args.out,
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
