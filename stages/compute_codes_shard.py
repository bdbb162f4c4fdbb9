"""Stage compute_codes_shard: NRDH codes (Eq. 19) of one shard of queries and database."""

from pathlib import Path

from nrdh.pipeline.hashing import compute_codes_shard_stage
from nrdh.runner import stage_main
from nrdh.shards import shard_count

if __name__ == "__main__":
    stage_main(
        __doc__,
        lambda params, variant, dataset, features, model, shard, out: compute_codes_shard_stage(
            params, variant, dataset, features, model, out, shard, shard_count(params)
        ),
        variant="pass",
        dataset=str,
        features=Path,
        model=Path,
        shard=int,
        out=Path,
    )
