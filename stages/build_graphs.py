"""Stage build_graphs: M-node graphs with re-weighted adjacency (Eqs. 2-4) -> graphs.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.representation import build_graphs_stage

    args = parse_args(__doc__, variant=True, paths=["features", "out"], ints=["seed"])
    p = load_params(args.params, args.variant)
    build_graphs_stage(features_path=args.features, out=args.out, cfg=p.graph, seed=args.seed)


if __name__ == "__main__":
    run(main)
