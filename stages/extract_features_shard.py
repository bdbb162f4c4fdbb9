"""Stage extract_features_shard: features, labels, ids and split of one shard of rows."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.representation import extract_shard_stage
    from nrdh.sources import refresh_snapshot

    args = parse_args(__doc__, paths=["net", "out"], ints=["shard"], strs=["dataset"])
    p = load_params(args.params)
    refresh_snapshot(args.dataset, p.dataset(args.dataset))  # Snakemake's view of the data
    extract_shard_stage(
        out=args.out,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        f_cfg=p.features_for(args.dataset),
        seed=p.base.seed,
        shard=args.shard,
        count=p.shards.count,
        net_dir=args.net,
    )


if __name__ == "__main__":
    run(main)
