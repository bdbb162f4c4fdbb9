"""Stage dump_node_reps: Node representations g(x) of the training images -> node_reps_<bits>.h5."""

from pathlib import Path

from nrdh.pipeline.representation import dump_node_reps_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(
        __doc__,
        dump_node_reps_stage,
        variant="apply",
        features=Path,
        graphs=Path,
        model=Path,
        out=Path,
    )
