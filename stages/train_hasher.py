"""Stage train_hasher: the hash network of one code length fitted to g(x) (Eq. 18)."""

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.stages import train_hasher

    train_hasher.run(*parse_args(__doc__, train_hasher.Args))


if __name__ == "__main__":
    run(main)
