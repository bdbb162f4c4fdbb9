"""Stage extract_features: the feature shards merged -> features.h5 (torch-free)."""

from pathlib import Path

from nrdh.runner import stage_main
from nrdh.shards import merge_features, shard_count

if __name__ == "__main__":
    stage_main(
        __doc__,
        lambda params, shards, out: merge_features(shards, shard_count(params), out),
        shards=Path,
        out=Path,
    )
