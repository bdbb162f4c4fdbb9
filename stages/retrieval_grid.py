"""Stage retrieval_grid: random queries and their top results as a picture (Fig. 9 style)."""

from pathlib import Path

from nrdh.pipeline.summary import retrieval_grid_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(__doc__, retrieval_grid_stage, dataset=str, codes=Path, out=Path)
