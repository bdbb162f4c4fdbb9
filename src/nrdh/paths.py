"""Path templates: how code names the artifacts dvc.yaml declares, without building a name.

A stage that reads or writes a file per code length (or per shard, or a summary over runs)
gets one path template from dvc.yaml, such as ``codes/digits/lsh/seed0/{bits}.h5``,
whose file pattern comes from workflow/paths.yaml. `fill` puts in the fields (bits from
base.bits, shard from shards.ids); `find` lists the existing files a template matches and
their fields, for the summary. Torch-free.
"""

from __future__ import annotations

import glob
import re
import string
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from nrdh.errors import NRDHError

INT_FIELDS = ("bits", "seed", "shard")  # fields that name a number: digits only in `find`


def fields(template: str) -> set[str]:
    """The {field} names of a template."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise NRDHError(f"{template}: not a path template ({exc})") from None


def fill(template: str, **values: int | str) -> Path:
    """The path of `template` with its fields filled in: exactly the fields given, so a
    template without {bits} cannot give one file for every code length."""
    if fields(template) != set(values):
        raise NRDHError(
            f"{template}: a path template with fields {sorted(fields(template))}, expected "
            f"{sorted(values)} (dvc.yaml passes it; workflow/paths.yaml holds the file names)"
        )
    return Path(template.format(**values))


def per_bits(template: str, bits: Sequence[int]) -> list[Path]:
    """The file of each code length of `bits` (base.bits), in order."""
    return [fill(template, bits=b) for b in bits]


Scope = Mapping[str, Collection[int | str]]  # field -> the values a run of the params has


def find(template: str, scope: Scope | None = None) -> list[tuple[Path, dict[str, int | str]]]:
    """Every existing file `template` matches, sorted by path, with its fields' values
    (those of INT_FIELDS as ints); a field spans one folder level at most. With `scope`,
    only files whose fields take values it lists (a field it does not name: any value), so
    files left by runs of other params do not count."""
    pattern, regex, seen = "", "", set[str]()
    for literal, name, _, _ in string.Formatter().parse(template):
        pattern += glob.escape(literal)
        regex += re.escape(literal)
        if name is None:
            continue
        pattern += "*"
        if name in seen:
            regex += f"(?P={name})"
        else:
            regex += f"(?P<{name}>{'[0-9]+' if name in INT_FIELDS else '[^/]+'})"
            seen.add(name)
    found = []
    for name in sorted(glob.glob(pattern), key=Path):
        match = re.fullmatch(regex, name)
        if match and Path(name).is_file():
            values = {k: int(v) if k in INT_FIELDS else v for k, v in match.groupdict().items()}
            if all(v in scope[k] for k, v in values.items() if k in (scope or {})):
                found.append((Path(name), values))
    return found
