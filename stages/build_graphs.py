"""Stage build_graphs: M-node graphs with re-weighted adjacency (Eqs. 2-4) -> graphs.h5."""

from pathlib import Path

from nrdh.pipeline.representation import build_graphs_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(__doc__, build_graphs_stage, variant="apply", features=Path, out=Path)
