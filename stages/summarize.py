"""Stage summarize: tables over seeds, figures and reports/report.html."""

from pathlib import Path

from nrdh.pipeline.summary import summarize_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(
        __doc__,
        summarize_stage,
        eval_dir=Path,
        pr_dir=Path,
        loss_dir=Path,
        summary=Path,
        reports=Path,
    )
