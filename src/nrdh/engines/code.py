"""The source files each stage runs (its script's import closure), their digests, and
dvc.yaml's code deps on those digests."""

from __future__ import annotations

import re
from pathlib import Path

from nrdh.errors import NRDHError
from nrdh.imports import closure

SOURCE_DIRS = ("stages/", "src/", "data/code/")
# DVC's code stage writes, for each stage script, the MD5 of every project file the script
# runs (its import closure) to data/code/<script>.json; each stage depends on its script's
# file, so DVC re-runs exactly the stages whose code changed. One dep per stage instead of
# one per module keeps dvc.lock small, and DVC rewrites that file after every stage: its
# size is most of DVC's own time per stage. Snakemake's rules list the modules themselves.
CODER, CODE_DIR = "code_digests", "data/code"


def stage_script(cmd: str) -> str:
    """The script of a stage command (``python stages/<name>.py ...``), relative to the root."""
    match = re.match(r"python3?\s+(\S+\.py)", cmd.strip())
    if match is None:
        raise NRDHError(f"dvc.yaml: cannot find the stage script in command {cmd!r}")
    return match.group(1)


def script_sources(script: Path, root: Path) -> list[str]:
    """The source files a stage script runs, relative to root: itself and its import closure."""
    return [str(f.relative_to(root)) for f in (script, *closure(script, root / "src"))]


def code_file(cmd: str) -> str:
    """The digest file a stage depends on for its code: data/code/<script name>.json."""
    return f"{CODE_DIR}/{Path(stage_script(cmd)).stem}.json"


def write_code_digests(root: Path, out: Path) -> None:
    """For each stage script under root/stages, {source file: MD5} of the files it runs ->
    out/<script name>.json (sorted keys: unchanged code gives unchanged bytes)."""
    from nrdh import io

    for script in sorted((root / "stages").glob("*.py")):
        files = script_sources(script, root)
        io.write_json(out / f"{script.stem}.json", {f: io.file_digest(root / f) for f in files})


def sync_deps(root: str | Path = ".", write: bool = True) -> dict[str, tuple[list, list]]:
    """Set each dvc.yaml stage's code dep to its script's digest file (`code_file`), in
    place of any source file listed.

    Data deps keep their place after it; comments and layout of dvc.yaml are kept.
    Returns {stage: (old source deps, new source deps)} for the stages that differ, and
    rewrites dvc.yaml when `write` and anything differs.
    """
    from ruamel.yaml import YAML

    root = Path(root)
    ryaml = YAML()
    ryaml.width = 4096
    ryaml.indent(mapping=2, sequence=4, offset=2)
    path = root / "dvc.yaml"
    doc = ryaml.load(path.read_text())
    changed: dict[str, tuple[list, list]] = {}
    for name, stage in doc["stages"].items():
        if name == CODER:  # depends on the source folders themselves
            continue
        deps = stage.get("deps") or []
        old = [d for d in deps if str(d).startswith(SOURCE_DIRS)]
        new = [code_file(str(stage["cmd"]))]
        if old != new:
            changed[name] = (list(old), new)
            data = [d for d in deps if not str(d).startswith(SOURCE_DIRS)]
            deps.clear()
            deps.extend([*new, *data])
            stage["deps"] = deps
    if changed and write:
        with path.open("w") as fh:
            ryaml.dump(doc, fh)
    return changed
