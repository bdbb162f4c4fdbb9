"""Stage train_feature_net: the self-supervised (SimCLR) feature network of one dataset."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import train_feature_net

    train_feature_net.run(*parse_args(__doc__, train_feature_net.Args))


if __name__ == "__main__":
    run(main)
