"""Stage evaluate: one method's retrieval metrics at every code length, with their protocol."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.evaluation import evaluate_stage

    args = parse_args(__doc__, ints=["seed"], strs=["dataset", "codes", "metrics", "pr"])
    p = load_params(args.params)
    evaluate_stage(
        codes_template=args.codes,
        metrics_template=args.metrics,
        pr_template=args.pr,
        dataset=args.dataset,
        bits=p.base.bits,
        seed=args.seed,
        ds_cfg=p.dataset(args.dataset),
        cfg=p.evaluate,
    )


if __name__ == "__main__":
    run(main)
