"""Stage summarize: tables over seeds, figures and the self-contained HTML report."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.config import load_yaml
    from nrdh.params import load_params
    from nrdh.pipeline.summary import Sources, scope_of, summarize_stage

    args = parse_args(
        __doc__,
        paths=["summary", "headline", "reports"],
        strs=["eval", "pr", "gcn_loss", "hasher_loss", "diag", "features"],
    )
    p = load_params(args.params)
    summarize_stage(
        sources=Sources(
            eval=args.eval,
            pr=args.pr,
            losses={"gcn": args.gcn_loss, "hasher": args.hasher_loss},
            diag=args.diag,
            features=args.features,
            scope=scope_of(p),
        ),
        summary_out=args.summary,
        headline_out=args.headline,
        reports_dir=args.reports,
        reference=p.summary.reference,
        params=load_yaml(args.params),
    )


if __name__ == "__main__":
    run(main)
