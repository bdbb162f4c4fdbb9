"""Stage train_hasher: Hash network fitted to node representations (Eq. 18) -> hasher_<bits>.pt."""

from pathlib import Path

from nrdh.pipeline.hashing import train_hasher_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(
        __doc__, train_hasher_stage, variant="apply", dataset=str, reps=Path, out=Path, history=Path
    )
