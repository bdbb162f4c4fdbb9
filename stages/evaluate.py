"""Stage evaluate: one method's retrieval metrics at every code length, with their protocol."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import evaluate

    evaluate.run(*parse_args(__doc__, evaluate.Args))


if __name__ == "__main__":
    run(main)
