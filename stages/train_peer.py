"""Stage train_peer: a deep unsupervised peer's hash network (docs/PEERS.md) -> hasher_<bits>.pt."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import train_peer

    train_peer.run(*parse_args(__doc__, train_peer.Args))


if __name__ == "__main__":
    run(main)
