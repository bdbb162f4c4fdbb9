"""Stage train_gcn: the GCN autoencoder (Table 1, L1 of Eq. 8) -> gcn_<bits>.pt, its loss
history, and the node representations g(x) of the training images -> node_reps_<bits>.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import train_gcn

    train_gcn.run(*parse_args(__doc__, train_gcn.Args))


if __name__ == "__main__":
    run(main)
