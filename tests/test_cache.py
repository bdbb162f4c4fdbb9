"""DVC deps that cannot drift: each stage lists every project module its script can run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from conftest import ROOT

from nrdh.imports import closure
from nrdh.workflow import stage_sources, sync_deps


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


def test_dvc_yaml_lists_each_stage_import_closure():
    """`nrdh dvc-deps` has nothing to change: every stage's source deps are its closure."""
    assert sync_deps(ROOT, write=False) == {}


def test_sync_deps_adds_a_missing_module_and_keeps_data_deps(tmp_path):
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stage = spec["stages"]["evaluate"]
    data = [d for d in stage["deps"] if not d.startswith(("src/", "stages/"))]
    stage["deps"] = ["stages/evaluate.py", *data]  # every library module forgotten
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "stages").symlink_to(ROOT / "stages")
    (tmp_path / "src").symlink_to(ROOT / "src")
    changed = sync_deps(tmp_path)
    assert list(changed) == ["evaluate"]
    fixed = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]["evaluate"]["deps"]
    assert fixed == [*stage_sources(stage["cmd"], ROOT), *data]
    assert "src/nrdh/metrics.py" in fixed


def test_every_module_a_stage_imports_is_a_dep():
    """Importing each stage script loads no project module that dvc.yaml does not list."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
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
        loaded = {Path(p).relative_to(ROOT / "src").as_posix() for p in files}
        listed = {d[len("src/") :] for d in stages[name]["deps"] if d.startswith("src/")}
        assert loaded, name
        assert loaded <= listed, f"{name}: imports {sorted(loaded - listed)} not in its deps"
