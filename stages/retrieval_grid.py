"""Stage retrieval_grid: random queries and their top results as a picture (Fig. 9 style)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import retrieval_grid

    retrieval_grid.run(*parse_args(__doc__, retrieval_grid.Args))


if __name__ == "__main__":
    run(main)
