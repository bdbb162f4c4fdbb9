"""Stage build_graphs: M-node graphs with re-weighted adjacency (Eqs. 2-4) -> graphs.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import build_graphs

    build_graphs.run(*parse_args(__doc__, build_graphs.Args))


if __name__ == "__main__":
    run(main)
