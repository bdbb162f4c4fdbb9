"""Stage compute_codes: the code shards merged -> codes.h5 (torch-free)."""

from nrdh.params import load_params
from nrdh.pipeline.common import merge_codes
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(__doc__, paths=["features", "shards", "out"])
    merge_codes(
        folder=args.shards,
        count=load_params(args.params).shards.count,
        features_path=args.features,
        out=args.out,
    )


if __name__ == "__main__":
    run(main)
