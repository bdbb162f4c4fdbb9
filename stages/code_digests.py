"""Stage code_digests: the MD5 of every project file each stage script runs -> code/<script>.json.

Each stage depends on its script's file, so DVC re-runs exactly the stages whose code changed.
It reads no params (it runs before check_params), so it parses its one flag itself.
"""

import argparse
from pathlib import Path

from nrdh.runner import run


def main() -> None:
    from nrdh.engines.code import write_code_digests

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the digests' folder")
    write_code_digests(Path.cwd(), parser.parse_args().out)


if __name__ == "__main__":
    run(main)
