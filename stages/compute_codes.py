"""Stage compute_codes: the code shards merged -> codes.h5 (torch-free)."""

from pathlib import Path

from nrdh.pipeline.common import merge_codes
from nrdh.runner import stage_main
from nrdh.shards import shard_count

if __name__ == "__main__":
    stage_main(
        __doc__,
        lambda params, features, shards, out: merge_codes(
            shards, shard_count(params), features, out
        ),
        features=Path,
        shards=Path,
        out=Path,
    )
