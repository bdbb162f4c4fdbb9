"""Stage evaluate: retrieval metrics with their protocol -> eval_<bits>.json, pr_<bits>.json."""

from nrdh.params import load_params
from nrdh.pipeline.evaluation import evaluate_stage
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(__doc__, paths=["codes", "metrics", "pr"], ints=["bits"], strs=["dataset"])
    p = load_params(args.params)
    evaluate_stage(
        codes_path=args.codes,
        metrics_out=args.metrics,
        pr_out=args.pr,
        dataset=args.dataset,
        bits=args.bits,
        seed=p.base.seed,
        ds_cfg=p.dataset(args.dataset),
        cfg=p.evaluate,
    )


if __name__ == "__main__":
    run(main)
