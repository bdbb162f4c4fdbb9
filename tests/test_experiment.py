"""`nrdh exp run`: a bad -S override is refused before DVC touches the workspace.

`dvc exp run -S` writes the value into params.yaml and checks the workspace out for the
stage graph that value makes before any stage (check_params included) runs; with a bad
value DVC deletes the outputs it had placed from its cache. The unit tests check the
override validation on the real params.yaml; the slow tests build the tiny DAG, place its
outputs from DVC's cache (as `dvc exp run`, `dvc checkout` and `dvc pull` do), and check that
each bad override leaves every file byte-identical, and that the documented recovery after
a bare `dvc exp run` restores them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, make_project, run, tool

from nrdh.errors import NRDHError
from nrdh.experiment import check_overrides, set_params, sweep_points

# The reported bad values, and the key each message must name.
BAD = {
    "base.datasets=[nosuch]": "error: base.datasets[0]: 'nosuch' is not a key of datasets",
    "base.bits=[0]": "error: base.bits[0]: 0 is out of range, expected >= 1",
    "graph.rho=1.5": "error: graph.rho: 1.5 is out of range, expected in [-1.0, 1.0]",
}


@pytest.fixture
def params_file(tmp_path) -> Path:
    """A copy of the project's params.yaml, comments and inline lists included."""
    return Path(shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml"))


def test_set_params_are_read_from_dvc_arguments():
    args = ["-n", "x", "-S", "graph.rho=0.5", "--set-param=gcn.alpha=0.9", "--queue"]
    assert set_params(args) == ["graph.rho=0.5", "gcn.alpha=0.9"]
    assert set_params(["--queue"]) == []


def test_a_sweep_is_checked_point_by_point():
    assert sweep_points(["graph.rho=0.3,0.5", "gcn.alpha=0.9"]) == [
        ["graph.rho=0.3", "gcn.alpha=0.9"],
        ["graph.rho=0.5", "gcn.alpha=0.9"],
    ]
    assert sweep_points(["other.yaml:x=1"]) == []  # not params.yaml: DVC's to check


@pytest.mark.parametrize("override", sorted(BAD))
def test_bad_overrides_are_refused_and_leave_params_untouched(params_file, override):
    before = params_file.read_bytes()
    with pytest.raises(NRDHError) as exc:
        check_overrides(params_file, [override])
    assert f"error: {exc.value}".startswith(BAD[override])
    assert f"(from -S {override}); nothing run, params.yaml unchanged" in str(exc.value)
    assert params_file.read_bytes() == before


def test_valid_override_and_bad_grammar(params_file):
    before = params_file.read_bytes()
    check_overrides(params_file, ["graph.rho=0.5", "base.bits=[16,32]"])
    with pytest.raises(NRDHError, match=r"-S base.bits=\[16: not a valid override \(no viable"):
        sweep_points(["base.bits=[16"])
    with pytest.raises(NRDHError, match=r"-S nosuch.x=1: not a valid override \(Could not"):
        check_overrides(params_file, ["nosuch.x=1"])
    assert params_file.read_bytes() == before


def test_a_mistyped_key_gets_the_closest_one(params_file):
    """Hydra refuses a key params.yaml lacks; the message names the key it resembles."""
    with pytest.raises(NRDHError, match=r"\(did you mean 'graph\.rho' for 'graph\.rhoo'\?\)$"):
        check_overrides(params_file, ["graph.rhoo=0.5"])
    with pytest.raises(NRDHError, match=r"\(\+key=value adds one\)$"):  # nothing close
        check_overrides(params_file, ["nosuch.x=1"])


def nrdh(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the `nrdh` command in `cwd` (its src first on PYTHONPATH), whatever its exit code."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-c", "from nrdh.cli import main; main()", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_command_refuses_with_one_line(params_file):
    before = params_file.read_bytes()
    proc = nrdh(["exp", "run", "-S", "graph.rho=0.3,1.5", "--queue"], params_file.parent)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{BAD['graph.rho=1.5']} (from -S graph.rho=1.5); nothing run, params.yaml unchanged"
    ]
    assert params_file.read_bytes() == before


def snapshot(project: Path) -> tuple[dict[str, str], set[str]]:
    """MD5 of every file of the workspace and the set of its folders (.git, .dvc aside)."""
    files, dirs = {}, set()
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        if rel.split("/")[0] in (".git", ".dvc"):
            continue
        if path.is_dir():
            dirs.add(rel)
        else:
            files[rel] = hashlib.md5(path.read_bytes()).hexdigest()
    return files, dirs


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_params) -> Path:
    """The tiny DAG built, committed, and its cached outputs placed by `dvc checkout`."""
    d = make_project(tmp_path_factory.mktemp("exp") / "project", tiny_params)
    params = d / "params.yaml"  # a comment and inline lists, which DVC's -S dump rewrites
    params.write_text("# tiny run\n" + params.read_text().replace("- 16\n", "- 16  # bits\n"))
    run([tool("dvc"), "repro", "-q"], d)
    for folder in ("data", "models", "codes"):
        shutil.rmtree(d / folder)
    run([tool("dvc"), "checkout", "-q"], d)
    run(["git", "add", "-A"], d)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "built"], d)
    return d


@pytest.mark.slow
@pytest.mark.parametrize("override", sorted(BAD))
def test_bad_override_leaves_a_built_workspace_byte_identical(built, override):
    before = snapshot(built)
    proc = nrdh(["exp", "run", "-S", override], built)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(BAD[override]) and "Traceback" not in proc.stderr
    assert snapshot(built) == before


@pytest.mark.slow
def test_bare_dvc_exp_run_is_recovered_by_the_documented_commands(built, tmp_path):
    project = Path(shutil.copytree(built, tmp_path / "copy", symlinks=True))
    before = snapshot(project)
    cmd = [tool("dvc"), "exp", "run", "-S", "base.datasets=[nosuch]"]
    assert subprocess.run(cmd, cwd=project, capture_output=True).returncode != 0
    after = snapshot(project)
    assert after[0]["params.yaml"] != before[0]["params.yaml"]  # DVC kept the bad value
    assert len(after[0]) < len(before[0])  # and deleted the outputs it had placed
    run(["git", "checkout", "--", "params.yaml"], project)
    run([tool("dvc"), "checkout", "-q"], project)
    for folder in ("data", "models", "codes"):  # the empty folders of the bad stage graph
        run(["find", folder, "-type", "d", "-empty", "-delete"], project)
    assert snapshot(project) == before


@pytest.mark.slow
def test_a_valid_override_runs_the_experiment(built, tmp_path):
    project = Path(shutil.copytree(built, tmp_path / "valid", symlinks=True))
    proc = nrdh(["exp", "run", "-S", "evaluate.topk=50"], project)
    assert proc.returncode == 0, proc.stderr
    assert "Running stage 'evaluate@digits-nrdh-0'" in proc.stdout
    assert "topk: 50" in (project / "params.yaml").read_text()
