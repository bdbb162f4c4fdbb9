"""Stage extract_features_shard: features, labels, ids and split of one shard of rows."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import extract_features_shard

    extract_features_shard.run(*parse_args(__doc__, extract_features_shard.Args))


if __name__ == "__main__":
    run(main)
