"""Stage retrieval_grid: random queries and their top results as a picture (Fig. 9 style)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.params import load_params
    from nrdh.pipeline.summary import retrieval_grid_stage

    args = parse_args(__doc__, paths=["codes", "out"], strs=["dataset"])
    p = load_params(args.params)
    retrieval_grid_stage(
        codes_path=args.codes,
        out=args.out,
        dataset=args.dataset,
        ds_cfg=p.dataset(args.dataset),
        cfg=p.grid,
        seed=p.base.seed,
    )


if __name__ == "__main__":
    run(main)
