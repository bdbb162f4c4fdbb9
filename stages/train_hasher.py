"""Stage train_hasher: the hash network of one code length fitted to g(x) (Eq. 18)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.hashing import train_hasher_stage

    args = parse_args(
        __doc__,
        variant=True,
        paths=["reps", "out", "history"],
        ints=["seed", "bits"],
        strs=["dataset"],
    )
    p = load_params(args.params, args.variant)
    train_hasher_stage(
        reps_path=args.reps,
        out=args.out,
        history_out=args.history,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        cfg=p.hasher,
        bits=args.bits,
        data_seed=p.base.seed,
        seed=args.seed,
    )


if __name__ == "__main__":
    run(main)
