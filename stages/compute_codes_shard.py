"""Stage compute_codes_shard: a run's trained hash networks' codes (Eq. 19) of one shard of
rows, at every code length of base.bits (--models, --out: path templates with {bits})."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import compute_codes_shard

    compute_codes_shard.run(*parse_args(__doc__, compute_codes_shard.Args))


if __name__ == "__main__":
    run(main)
