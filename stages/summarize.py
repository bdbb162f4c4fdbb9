"""Stage summarize: tables over seeds, figures and the self-contained HTML report."""

from nrdh.config import load_yaml
from nrdh.params import load_params
from nrdh.pipeline.summary import summarize_stage
from nrdh.runner import parse_args, run


def main() -> None:
    args = parse_args(
        __doc__,
        paths=["eval_dir", "pr_dir", "loss_dir", "diag_dir", "features_dir", "summary", "reports"],
    )
    summarize_stage(
        eval_dir=args.eval_dir,
        pr_dir=args.pr_dir,
        loss_dir=args.loss_dir,
        diag_dir=args.diag_dir,
        features_dir=args.features_dir,
        summary_out=args.summary,
        reports_dir=args.reports,
        reference=load_params(args.params).summary.reference,
        params=load_yaml(args.params),
    )


if __name__ == "__main__":
    run(main)
