"""Stage extract_features: the feature shards merged -> features.h5 (torch-free)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.paths import fill
    from nrdh.shards import merge_features

    args = parse_args(__doc__, paths=["out"], strs=["shards"])
    count = load_params(args.params).shards.count
    merge_features([fill(args.shards, shard=i) for i in range(count)], out=args.out)


if __name__ == "__main__":
    run(main)
