"""Stage diagnose: an NRDH run's mAP split into representation, fit and generalisation,
at every code length of base.bits -> diag_<bits>.json."""

from nrdh.params import load_params
from nrdh.pipeline.diagnose import diagnose_stage
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(
        __doc__,
        variant=True,
        paths=["reps", "models", "features", "codes", "gcn_history", "out"],
        strs=["dataset"],
    )
    p = load_params(args.params, args.variant)
    diagnose_stage(
        reps_dir=args.reps,
        models_dir=args.models,
        features_path=args.features,
        codes_dir=args.codes,
        history_dir=args.gcn_history,
        out_dir=args.out,
        bits=p.base.bits,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        codes_cfg=p.codes,
        eval_cfg=p.evaluate,
        gcn_cfg=p.gcn,
        data_seed=p.base.seed,
    )


if __name__ == "__main__":
    run(main)
