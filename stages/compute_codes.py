"""Stage compute_codes: each code length's shards merged into its codes file (torch-free)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.common import merge_codes_stage

    args = parse_args(__doc__, paths=["features"], strs=["shards", "out"])
    p = load_params(args.params)
    merge_codes_stage(
        shards_template=args.shards,
        count=p.shards.count,
        features_path=args.features,
        out_template=args.out,
        bits=p.base.bits,
    )


if __name__ == "__main__":
    run(main)
