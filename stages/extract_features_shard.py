"""Stage extract_features_shard: features, labels, ids and split of one shard of rows."""

from pathlib import Path

from nrdh.pipeline.representation import extract_shard_stage
from nrdh.runner import stage_main
from nrdh.shards import shard_count

if __name__ == "__main__":
    stage_main(
        __doc__,
        lambda params, dataset, shard, out: extract_shard_stage(
            params, dataset, out, shard, shard_count(params)
        ),
        dataset=str,
        shard=int,
        out=Path,
    )
