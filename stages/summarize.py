"""Stage summarize: tables over seeds, figures and the self-contained HTML report."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import summarize

    summarize.run(*parse_args(__doc__, summarize.Args))


if __name__ == "__main__":
    run(main)
