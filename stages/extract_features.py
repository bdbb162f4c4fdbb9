"""Stage extract_features: the feature shards merged -> features.h5 (torch-free)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import extract_features

    extract_features.run(*parse_args(__doc__, extract_features.Args))


if __name__ == "__main__":
    run(main)
