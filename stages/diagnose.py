"""Stage diagnose: an NRDH run's mAP split into representation, fit and generalisation,
at every code length of base.bits (the path flags: templates with {bits})."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import diagnose

    diagnose.run(*parse_args(__doc__, diagnose.Args))


if __name__ == "__main__":
    run(main)
