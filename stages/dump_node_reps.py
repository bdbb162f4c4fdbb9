"""Stage dump_node_reps: node representations g(x) of the training images -> node_reps.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.autoencoder import dump_node_reps_stage

    args = parse_args(
        __doc__, variant=True, paths=["features", "graphs", "model", "out"], ints=["bits"]
    )
    p = load_params(args.params, args.variant)
    dump_node_reps_stage(
        features_path=args.features,
        graphs_path=args.graphs,
        model_path=args.model,
        out=args.out,
        bits=args.bits,
        cfg=p.node_reps,
    )


if __name__ == "__main__":
    run(main)
