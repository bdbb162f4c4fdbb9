"""Stage evaluate: Retrieval metrics with their protocol -> eval_<bits>.json, pr_<bits>.json."""

from pathlib import Path

from nrdh.pipeline.evaluation import evaluate_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(__doc__, evaluate_stage, dataset=str, bits=int, codes=Path, metrics=Path, pr=Path)
