"""Stage train_gcn: the GCN autoencoder (Table 1, L1 of Eq. 8) -> gcn_<bits>.pt, its loss
history, and the node representations g(x) of the training images -> node_reps_<bits>.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.autoencoder import train_gcn_stage

    args = parse_args(
        __doc__,
        variant=True,
        paths=["features", "graphs", "out", "history", "reps"],
        ints=["bits", "seed"],
    )
    p = load_params(args.params, args.variant)
    train_gcn_stage(
        features_path=args.features,
        graphs_path=args.graphs,
        out=args.out,
        history_out=args.history,
        reps_out=args.reps,
        bits=args.bits,
        cfg=p.gcn,
        reps_cfg=p.node_reps,
        seed=args.seed,
    )


if __name__ == "__main__":
    run(main)
