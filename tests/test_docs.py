"""The docs agree with the code, where that is cheap to check: each `nrdh` command shown in a
code block parses (its `-S` keys exist in params.yaml), each script, preset and linked file
it names exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from nrdh.cli import build_parser
from nrdh.experiment import set_params

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("*/README.md")],
    key=lambda p: str(p),
)


def code_commands(text: str) -> list[str]:
    """Shell commands of a markdown file's fenced blocks: continuation lines joined, comments
    dropped, `&&` and `;` chains split."""
    commands = []
    for block in re.findall(r"^```(?:sh|bash|console)?\n(.*?)^```", text, re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            commands += [c.strip() for c in re.split(r"&&|;", line) if c.strip()]
    return commands


def shown(tool: str) -> list[tuple[str, str]]:
    """(doc, command) for every command of the docs that runs `tool`."""
    return [
        (doc.relative_to(ROOT).as_posix(), cmd)
        for doc in DOCS
        for cmd in code_commands(doc.read_text())
        if re.match(rf"(\S*/)?{tool}\b", cmd) and "$(" not in cmd
    ]


def dotted_keys(data: object, prefix: str = "") -> set[str]:
    """Every key of params.yaml in `-S` spelling."""
    if not isinstance(data, dict):
        return set()
    keys = set()
    for k, v in data.items():
        keys |= {f"{prefix}{k}"} | dotted_keys(v, f"{prefix}{k}.")
    return keys


PARAM_KEYS = dotted_keys(yaml.safe_load((ROOT / "params.yaml").read_text()))


@pytest.mark.parametrize(("doc", "cmd"), shown("nrdh"))
def test_each_nrdh_command_shown_parses(doc, cmd):
    argv = shlex.split(cmd)[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{doc}: `{cmd}` does not parse")
    if args.command == "exp":
        for override in set_params(args.dvc_args):
            key = override.split("=", 1)[0]
            assert key.startswith("+") or key in PARAM_KEYS, f"{doc}: `{cmd}`: no key {key}"
    if args.command == "preset" and args.preset.parts[0] == "presets":
        assert (ROOT / args.preset).is_file(), f"{doc}: `{cmd}`: no {args.preset}"


@pytest.mark.parametrize(("doc", "cmd"), shown("python") + shown("bash"))
def test_each_script_shown_exists(doc, cmd):
    for word in shlex.split(cmd)[1:]:
        if re.match(r"(benchmarks|stages|\.ci)/\S+\.(py|sh)$", word):
            assert (ROOT / word).is_file(), f"{doc}: `{cmd}`: no {word}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_relative_link_points_at_a_file(doc):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (doc.parent / target).exists(), f"{doc.relative_to(ROOT)}: link to {target}"
