"""Stage check_params: the whole params file validated before any other stage runs, and each
dataset's data linked under data/sources (nrdh.sources) for the stages that read it."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import check_params

    check_params.run(*parse_args(__doc__, check_params.Args))


if __name__ == "__main__":
    run(main)
