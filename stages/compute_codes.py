"""Stage compute_codes: each code length's shards merged into its codes file (torch-free)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import compute_codes

    compute_codes.run(*parse_args(__doc__, compute_codes.Args))


if __name__ == "__main__":
    run(main)
