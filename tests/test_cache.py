"""DVC deps that cannot drift: each stage depends on the digests of every project module its
script can run."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from conftest import ROOT

from nrdh.engines.code import (
    code_file,
    script_sources,
    stage_script,
    sync_deps,
    write_code_digests,
)
from nrdh.imports import closure


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_closure_follows_lazy_relative_and_parent_imports(tmp_path):
    src = tmp_path / "src"
    write(src / "nrdh/__init__.py", "")
    write(src / "nrdh/a.py", "from . import b\n")
    write(src / "nrdh/b.py", "def f():\n    import nrdh.sub.c\n")  # lazy import
    write(src / "nrdh/sub/__init__.py", "")
    write(src / "nrdh/sub/c.py", "from ..d import g\n")
    write(src / "nrdh/d.py", "import os\n")
    write(src / "nrdh/never.py", "")
    write(
        src / "nrdh/e.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import nrdh.never\n",
    )
    script = tmp_path / "stages/s.py"
    write(script, "from nrdh.a import x\nimport nrdh.e\n")
    names = [str(p.relative_to(src)) for p in closure(script, src)]
    # a -> b (relative) -> sub.c (lazy, with its package) -> d (relative, two levels up);
    # never.py only appears under TYPE_CHECKING, so it never runs.
    assert names == [
        "nrdh/__init__.py",
        "nrdh/a.py",
        "nrdh/b.py",
        "nrdh/d.py",
        "nrdh/e.py",
        "nrdh/sub/__init__.py",
        "nrdh/sub/c.py",
    ]


def test_dvc_yaml_gives_each_stage_its_code_file():
    """`nrdh dvc-deps` has nothing to change: every stage depends on its script's digests."""
    assert sync_deps(ROOT, write=False) == {}


def test_sync_deps_replaces_listed_modules_by_the_code_file_and_keeps_data_deps(tmp_path):
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stage = spec["stages"]["evaluate"]
    data = [d for d in stage["deps"] if not d.startswith(("src/", "stages/", "data/code/"))]
    stage["deps"] = ["stages/evaluate.py", "src/nrdh/io.py", *data]  # an old-style list
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "stages").symlink_to(ROOT / "stages")
    (tmp_path / "src").symlink_to(ROOT / "src")
    changed = sync_deps(tmp_path)
    assert list(changed) == ["evaluate"]
    fixed = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]["evaluate"]["deps"]
    assert fixed == ["data/code/evaluate.json", *data]


def test_code_digests_hold_the_md5_of_each_file_a_script_runs(tmp_path):
    """The digest of a script changes with a module it imports, not with one it does not."""
    src = tmp_path / "src"
    write(src / "nrdh/__init__.py", "")
    write(src / "nrdh/a.py", "def f():\n    from nrdh import b\n")
    write(src / "nrdh/b.py", "X = 1\n")
    write(src / "nrdh/c.py", "Y = 1\n")
    write(tmp_path / "stages/one.py", "from nrdh.a import f\n")
    write(tmp_path / "stages/two.py", "import nrdh.c\n")
    write_code_digests(tmp_path, tmp_path / "code")
    one = json.loads((tmp_path / "code/one.json").read_text())
    assert sorted(one) == [
        "src/nrdh/__init__.py",
        "src/nrdh/a.py",
        "src/nrdh/b.py",
        "stages/one.py",
    ]
    assert one["src/nrdh/b.py"] == hashlib.md5(b"X = 1\n").hexdigest()
    before = {p.name: p.read_bytes() for p in (tmp_path / "code").iterdir()}
    write(src / "nrdh/b.py", "X = 2\n")
    write_code_digests(tmp_path, tmp_path / "code")
    after = {p.name: p.read_bytes() for p in (tmp_path / "code").iterdir()}
    assert before["one.json"] != after["one.json"] and before["two.json"] == after["two.json"]


def test_every_module_a_stage_imports_is_a_dep():
    """Importing each stage script loads no project module its code digests leave out."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    stages.pop("code_digests")  # depends on the source folders themselves
    scripts = {name: s["cmd"].split()[1] for name, s in stages.items()}
    # One process for every script (torch is imported once); the project's modules are
    # dropped from sys.modules between scripts so each script loads its own afresh.
    probe = textwrap.dedent(
        """
        import json, runpy, sys
        from pathlib import Path
        loaded = {}
        for name, script in json.loads(sys.argv[1]).items():
            for mod in [m for m in sys.modules if m.split(".")[0] == "nrdh"]:
                del sys.modules[mod]
            runpy.run_path(script, run_name="not_main")
            loaded[name] = sorted(
                str(Path(m.__file__).resolve()) for n, m in list(sys.modules.items())
                if n.split(".")[0] == "nrdh" and getattr(m, "__file__", None))
        print(json.dumps(loaded))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(scripts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name, files in json.loads(out).items():
        loaded = {Path(p).relative_to(ROOT).as_posix() for p in files}
        assert code_file(stages[name]["cmd"]) in stages[name]["deps"], name
        digested = set(script_sources(ROOT / stage_script(stages[name]["cmd"]), ROOT))
        assert loaded, name
        assert loaded <= digested, f"{name}: imports {sorted(loaded - digested)} not digested"
