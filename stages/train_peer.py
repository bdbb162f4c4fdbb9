"""Stage train_peer: a deep unsupervised peer's hash network (docs/PEERS.md) -> hasher_<bits>.pt."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.peers import train_peer_stage

    args = parse_args(
        __doc__,
        paths=["features", "out", "history"],
        ints=["bits", "seed"],
        strs=["peer", "dataset"],
    )
    p = load_params(args.params)
    train_peer_stage(
        features_path=args.features,
        out=args.out,
        history_out=args.history,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        peer=p.registry[args.peer],
        peer_cfg=p.peers[args.peer],
        hasher_cfg=p.hasher,
        bits=args.bits,
        data_seed=p.base.seed,
        seed=args.seed,
    )


if __name__ == "__main__":
    run(main)
