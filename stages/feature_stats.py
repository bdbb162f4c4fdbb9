"""Stage feature_stats: neighbours above rho and kNN label precision of features.h5."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import feature_stats

    feature_stats.run(*parse_args(__doc__, feature_stats.Args))


if __name__ == "__main__":
    run(main)
