"""Stage feature_stats: neighbours above rho and kNN label precision of features.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.semantics import feature_stats_stage

    args = parse_args(__doc__, paths=["features", "out"], ints=["seed"])
    p = load_params(args.params)
    feature_stats_stage(
        features_path=args.features,
        out=args.out,
        graph_cfg=p.graph,
        cfg=p.feature_stats,
        seed=args.seed,
    )


if __name__ == "__main__":
    run(main)
