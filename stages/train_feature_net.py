"""Stage train_feature_net: the self-supervised (SimCLR) feature network of one dataset."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.feature_net import train_feature_net_stage
    from nrdh.sources import refresh_snapshot

    args = parse_args(__doc__, paths=["out"], strs=["dataset"])
    p = load_params(args.params)
    refresh_snapshot(args.dataset, p.dataset(args.dataset))  # Snakemake's view of the data
    train_feature_net_stage(
        out=args.out,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        f_cfg=p.features_for(args.dataset),
        cfg=p.feature_net,
        data_seed=p.base.seed,
    )


if __name__ == "__main__":
    run(main)
