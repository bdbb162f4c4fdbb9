"""Stage check_params: the whole params file validated before any other stage runs, and each
dataset's data linked under data/sources (nrdh.sources) for the stages that read it.

Every stage depends on its stamp, so `dvc repro` stops at a bad key, value or cross-reference
before any work; the stamp's bytes never change, so a valid edit reruns only what reads it.
"""

from nrdh.runner import parse_args, run

STAMP = "params valid (nrdh.params)\n"


def main() -> None:
    from nrdh.params import load_params
    from nrdh.sources import link_sources

    args = parse_args(__doc__, paths=["out"])
    link_sources(load_params(args.params))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(STAMP)


if __name__ == "__main__":
    run(main)
