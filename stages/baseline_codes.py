"""Stage baseline_codes: Classic hashing baseline codes (LSH, PCAH, ITQ, SH) -> codes.h5."""

from pathlib import Path

from nrdh.pipeline.evaluation import baseline_codes_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(__doc__, baseline_codes_stage, method=str, bits=int, features=Path, out=Path)
