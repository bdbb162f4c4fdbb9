"""Stage code_digests: the MD5 of every project file each stage script runs -> code/<script>.json.

Each stage depends on its script's file, so DVC re-runs exactly the stages whose code changed.
"""

from pathlib import Path

from nrdh.runner import parse_args, run


def main() -> None:
    from nrdh.workflow.code import write_code_digests

    args = parse_args(__doc__, paths=["out"])
    write_code_digests(Path.cwd(), args.out)


if __name__ == "__main__":
    run(main)
