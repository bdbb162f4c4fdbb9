"""Stage baseline_codes: a classic hashing baseline's codes at every code length of base.bits."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import baseline_codes

    baseline_codes.run(*parse_args(__doc__, baseline_codes.Args))


if __name__ == "__main__":
    run(main)
