"""Stage train_gcn: GCN autoencoder (Table 1, Eq. 8) -> gcn_<bits>.pt and its loss history."""

from pathlib import Path

from nrdh.pipeline.representation import train_gcn_stage
from nrdh.runner import stage_main

if __name__ == "__main__":
    stage_main(
        __doc__,
        train_gcn_stage,
        variant="apply",
        features=Path,
        graphs=Path,
        bits=int,
        out=Path,
        history=Path,
    )
