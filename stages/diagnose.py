"""Stage diagnose: an NRDH run's mAP split into representation, fit and generalisation,
at every code length of base.bits (the path flags: templates with {bits})."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.diagnose import diagnose_stage, run_files

    args = parse_args(
        __doc__,
        variant=True,
        paths=["features"],
        strs=["dataset", "reps", "models", "codes", "gcn_history", "out"],
    )
    p = load_params(args.params, args.variant)
    diagnose_stage(
        runs=run_files(args.reps, args.models, args.codes, args.gcn_history, args.out, p.base.bits),
        features_path=args.features,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        codes_cfg=p.codes,
        eval_cfg=p.evaluate,
        gcn_cfg=p.gcn,
        data_seed=p.base.seed,
    )


if __name__ == "__main__":
    run(main)
