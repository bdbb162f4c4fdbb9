"""Bad input through the real stage scripts: exit 2, one 'error: ...' line, nothing written.

Each test here backs a row of docs/RELIABILITY.md. A stage runs as a subprocess in a
temporary folder; a user mistake must give exit code 2, exactly one stderr line starting
with 'error: ' that names the file, line, key or value and what was expected, no traceback,
and no output file (nor a stray temporary file) where a later stage would look.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import ROOT, digits_workdir, overlay
from PIL import Image

from nrdh.params import parse
from nrdh.stages.baseline_codes import Args as BaselineArgs
from nrdh.stages.baseline_codes import baseline_codes_stage
from nrdh.stages.evaluate import Args as EvaluateArgs
from nrdh.stages.evaluate import evaluate_stage
from nrdh.stages.summarize import Sources, summarize_stage

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
# The changes to params.yaml these tests run with (`overlay` makes the full file).
CHANGES = {
    "base": {
        "datasets": ["digits"],
        "bits": [16],
        "variants": ["nrdh"],
        "methods": ["nrdh", "lsh"],
    },
    "variants": {"nrdh": {}},
    "datasets": {
        "digits": {"source": "digits", "query_per_class": 5},
        "photos": {"source": "list", "root": "photos"},
    },
    "gcn": {"epochs": 2, "checkpoint_every": 0},
    "baselines": {"methods": ["lsh"], "itq_iterations": 5},
    "evaluate": {"topk": 100, "ks": [10, 100]},
    "grid": {"bits": 16},
}
PARAMS = overlay(CHANGES)
P = parse(PARAMS)


def run_stage(cwd: Path, name: str, *args: str | int | Path) -> subprocess.CompletedProcess:
    """Run stages/<name>.py in `cwd` with the project's interpreter."""
    cmd = [sys.executable, str(ROOT / "stages" / f"{name}.py"), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)


def assert_user_error(proc: subprocess.CompletedProcess, out: Path, *fragments: str) -> str:
    """Exit 2, one 'error: ' line holding every fragment, no traceback, nothing under `out`."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert proc.stderr.rstrip().endswith(errors[0])  # the last thing the user sees
    for fragment in fragments:
        assert fragment in errors[0]
    assert not out.exists() or [p.name for p in out.rglob("*")] == []  # no temp file either
    return errors[0]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A folder with params.yaml, a digits features.h5 and LSH codes of 16 bits (codes/16.h5)."""
    d = tmp_path_factory.mktemp("good")
    digits_workdir(d, CHANGES)
    lsh = BaselineArgs(
        "lsh", P.base.seed, features=d / "features.h5", out=str(d / "codes" / "{bits}.h5")
    )
    baseline_codes_stage(lsh, bits=P.base.bits, cfg=P.baselines)
    return d


@pytest.fixture
def work(good: Path, tmp_path: Path) -> Path:
    """A scratch copy of the good folder, so each test may break its files."""
    shutil.copytree(good, tmp_path, dirs_exist_ok=True)
    return tmp_path


def with_params(work: Path, section: str, **values: object) -> None:
    """Overwrite keys of one params section in work/params.yaml."""
    params = yaml.safe_load((work / "params.yaml").read_text())
    params[section] = {**params.get(section, {}), **values}
    (work / "params.yaml").write_text(yaml.safe_dump(params))


def with_bits(work: Path, bits: int) -> None:
    """Run the stages of work/params.yaml at code length `bits` only."""
    with_params(work, "base", bits=[bits])
    with_params(work, "grid", bits=bits)


# ---- image collections: list files and image files --------------------------------------


def write_photos(root: Path, n: int = 9) -> None:
    """A list dataset of n 8x8 RGB PNGs with 3 labels: image 0-1 queries, the rest database
    and train (DeepHash-pytorch list format: 'relative/path 0 1 0')."""
    (root / "img").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(
            root / "img" / f"{i}.png"
        )
        lines.append(f"img/{i}.png " + " ".join("1" if i % 3 == c else "0" for c in range(3)))
    (root / "test.txt").write_text("\n".join(lines[:2]) + "\n")
    (root / "database.txt").write_text("\n".join(lines[2:]) + "\n")
    (root / "train.txt").write_text("\n".join(lines[2:]) + "\n")


NO_NET = ("--net", "net")  # pixel features read no feature network


def extract_photos(work: Path) -> subprocess.CompletedProcess:
    """The feature-extraction stage on the list dataset 'photos' (one shard)."""
    return run_stage(
        work,
        "extract_features_shard",
        "--dataset",
        "photos",
        "--shard",
        0,
        *NO_NET,
        "--out",
        "out/0.h5",
    )


def test_good_list_dataset_extracts(work):
    write_photos(work / "photos")
    proc = extract_photos(work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out" / "0.h5").is_file()


def corrupt_image(root: Path) -> None:
    (root / "img" / "4.png").write_bytes((root / "img" / "4.png").read_bytes()[:60])


def missing_image(root: Path) -> None:
    (root / "img" / "4.png").unlink()


def bad_label_value(root: Path) -> None:
    (root / "database.txt").write_text("img/2.png 0 0 1\nimg/3.png 1 x 0\n")


def no_labels(root: Path) -> None:
    (root / "database.txt").write_text("img/2.png 0 0 1\nimg/3.png\n")


def wrong_label_width(root: Path) -> None:
    (root / "database.txt").write_text("img/2.png 0 0 1\nimg/3.png 1 0\n")


def empty_train_split(root: Path) -> None:
    (root / "train.txt").write_text("\n")


# Each breakage of the list dataset and what its error line must say.
BAD_COLLECTIONS = {
    corrupt_image: ["photos/img/4.png: cannot read image (image file is truncated)"],
    missing_image: ["photos/img/4.png: image not found", "photos/database.txt:3"],
    bad_label_value: ["photos/database.txt:2: labels must be 0 or 1, got ['x']"],
    no_labels: ["photos/database.txt:2: 0 labels, expected 3 (format: 'relative/path"],
    wrong_label_width: ["photos/database.txt:2: 2 labels, expected 3"],
    empty_train_split: ["photos/train.txt: empty split (no image lines)"],
}


@pytest.mark.parametrize("breakage", list(BAD_COLLECTIONS), ids=lambda f: f.__name__)
def test_bad_image_collection(work, breakage):
    write_photos(work / "photos")
    breakage(work / "photos")
    assert_user_error(extract_photos(work), work / "out", *BAD_COLLECTIONS[breakage])


def test_digits_split_left_empty_names_the_key(work):
    with_params(work, "datasets", digits={"source": "digits", "query_per_class": 0})
    proc = run_stage(
        work,
        "extract_features_shard",
        "--dataset",
        "digits",
        "--shard",
        0,
        *NO_NET,
        "--out",
        "out/0.h5",
    )
    assert_user_error(
        proc, work / "out", "datasets.digits.query_per_class: 0 is out of range", "expected >= 1"
    )


# ---- HDF5 artifacts ---------------------------------------------------------------------


def lsh_codes(work: Path, features: str = "features.h5") -> subprocess.CompletedProcess:
    """The baseline_codes stage (torch-free) reading `features`."""
    return run_stage(
        work,
        "baseline_codes",
        "--method",
        "lsh",
        "--seed",
        0,
        "--features",
        features,
        "--out",
        "out/codes/{bits}.h5",
    )


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_features_name_the_row(work, value):
    with h5py.File(work / "features.h5", "r+") as f:
        f["features"][7, 3] = value
    assert_user_error(
        lsh_codes(work),
        work / "out",
        "features.h5: features row 7 is NaN or Inf",
        "expected finite",
    )


def test_wrong_schema_version_is_refused(work):
    with h5py.File(work / "features.h5", "r+") as f:
        f.attrs["schema_version"] = 2
    assert_user_error(
        lsh_codes(work),
        work / "out",
        "features.h5: attr 'schema_version' is 2, expected 1",
        "re-run the stage that writes it",
    )


def test_wrong_kind_is_refused(work):
    assert_user_error(
        lsh_codes(work, "codes/16.h5"),
        work / "out",
        "codes/16.h5: attr 'kind' is 'codes', expected 'features'",
    )


def test_missing_and_non_hdf5_inputs(work):
    assert_user_error(
        lsh_codes(work, "nope.h5"), work / "out", "nope.h5: file not found", "run its stage first"
    )
    (work / "junk.h5").write_bytes(b"\x00not hdf5" * 10)
    assert_user_error(lsh_codes(work, "junk.h5"), work / "out", "junk.h5: not a readable HDF5")


def inspect(work: Path, name: str) -> subprocess.CompletedProcess:
    """`nrdh inspect <name>` in `work`."""
    cmd = [sys.executable, "-c", "from nrdh.cli import main; main()", "inspect", name]
    return subprocess.run(cmd, cwd=work, env=ENV, capture_output=True, text=True, timeout=120)


def test_inspect_names_a_missing_truncated_or_junk_file(work):
    assert "@kind = features" in inspect(work, "features.h5").stdout
    (work / "cut.h5").write_bytes((work / "features.h5").read_bytes()[:2000])
    (work / "junk.h5").write_bytes(b"\x00not hdf5" * 10)
    for name, fragment in (
        ("nope.h5", "nope.h5: file not found (expected an nrdh HDF5 artifact"),
        ("cut.h5", "cut.h5: not a readable HDF5 file (Unable to synchronously open file"),
        ("junk.h5", "junk.h5: not a readable HDF5 file"),
    ):
        assert_user_error(inspect(work, name), work / "out", fragment)


def test_missing_dataset_is_named(work):
    with h5py.File(work / "features.h5", "r+") as f:
        del f["labels"]
    assert_user_error(lsh_codes(work), work / "out", "features.h5: missing dataset 'labels'")


def evaluate(
    work: Path, codes: str = "codes", dataset: str = "digits"
) -> subprocess.CompletedProcess:
    """The evaluate stage (torch-free) on the codes in folder `codes` at params' bits."""
    return run_stage(
        work, "evaluate", "--dataset", dataset, "--seed", 0, "--codes", f"{codes}/{{bits}}.h5",
        "--metrics", "out/eval/eval_{bits}.json", "--pr", "out/pr/pr_{bits}.json",
    )  # fmt: skip


def test_good_codes_evaluate(work):
    proc = evaluate(work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out" / "eval" / "eval_16.json").is_file()


def test_code_length_of_stage_and_file_disagree(work):
    shutil.copy(work / "codes" / "16.h5", work / "codes" / "32.h5")
    with_bits(work, 32)
    assert_user_error(evaluate(work), work / "out", "32.h5: holds 16-bit", "expected 32 bits")


def test_bytes_per_code_disagree_with_bits_attr(work):
    (work / "codes" / "16.h5").rename(work / "codes" / "24.h5")
    with h5py.File(work / "codes" / "24.h5", "r+") as f:
        f.attrs["bits"] = 24
    with_bits(work, 24)
    assert_user_error(
        evaluate(work),
        work / "out",
        "24.h5: query/codes has 2 bytes per code, expected 3 for bits=24",
    )


def test_unreadable_model_checkpoint(work):
    with_bits(work, 16)
    (work / "hasher_16.pt").write_bytes(b"PK\x03\x04 truncated")
    proc = run_stage(
        work, "compute_codes_shard", "--method", "nrdh", "--dataset", "digits",
        "--features", "features.h5", "--models", "hasher_{bits}.pt", "--shard", 0,
        "--out", "out/{bits}.h5",
    )  # fmt: skip
    assert_user_error(proc, work / "out", "hasher_16.pt: not a valid hasher checkpoint")


# ---- params -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "values", "fragments"),
    [
        ("evaluate", {"radiuss": 2}, ["evaluate: unknown key(s) ['radiuss']", "'radius'"]),
        ("evaluate", {"radius": -1}, ["evaluate.radius: -1 is out of range, expected >= 0"]),
        ("evaluate", {"ks": [10, 0]}, ["evaluate.ks[1]: 0 is out of range, expected >= 1"]),
        ("evaluate", {"topk": "many"}, ["evaluate.topk: expected an integer, got 'many'"]),
        ("evaluate", {"ties": "random"}, ["evaluate.ties: expected one of ['index', 'expected']"]),
    ],
    ids=["unknown-key", "negative-radius", "zero-k", "wrong-type", "bad-choice"],
)
def test_bad_params_name_the_key(work, section, values, fragments):
    with_params(work, section, **values)
    assert_user_error(evaluate(work), work / "out", *fragments)


def test_out_of_range_param_of_a_torch_stage(work):
    with_params(work, "graph", rho=1.5)
    proc = run_stage(
        work,
        "build_graphs",
        "--variant",
        "nrdh",
        "--seed",
        0,
        "--features",
        "features.h5",
        "--out",
        "out/g.h5",
    )
    assert_user_error(proc, work / "out", "graph.rho: 1.5 is out of range, expected in [-1.0, 1.0]")


def test_undefined_dataset_and_variant_names(work):
    assert_user_error(
        evaluate(work, dataset="cifar"),
        work / "out",
        f"datasets.cifar is not defined; defined: {sorted(PARAMS['datasets'])}",
    )
    proc = run_stage(
        work, "build_graphs", "--variant", "nrdh_bogus", "--seed", 0, "--features", "features.h5",
        "--out", "out/g.h5",
    )  # fmt: skip
    expected = f"variants.nrdh_bogus is not defined; defined: {sorted(PARAMS['variants'])}"
    assert_user_error(proc, work / "out", expected)


def test_params_file_not_valid_yaml(work):
    (work / "params.yaml").write_text("base: {seed: 0}\nevaluate: {topk: [100\n")
    error = assert_user_error(evaluate(work), work / "out", "params.yaml: not valid YAML at line")
    assert "column" in error


def test_params_file_missing_or_not_a_mapping(work):
    (work / "params.yaml").unlink()
    assert_user_error(evaluate(work), work / "out", "params.yaml: params file not found")
    (work / "params.yaml").write_text("- just\n- a list\n")
    assert_user_error(evaluate(work), work / "out", "params.yaml: expected a mapping of sections")


# ---- determinism of the last stage's outputs --------------------------------------------


def test_summary_and_figures_are_byte_identical_across_runs(good, tmp_path):
    """The summarize stage's outs (tables, PNG, SVG) carry no timestamp nor random id."""
    args = EvaluateArgs(
        dataset="digits",
        seed=P.base.seed,
        codes=str(good / "codes/{bits}.h5"),
        metrics=str(tmp_path / "eval/digits/lsh/eval_{bits}.json"),
        pr=str(tmp_path / "pr/digits/lsh/pr_{bits}.json"),
    )
    evaluate_stage(args, bits=P.base.bits, ds_cfg=P.dataset("digits"), cfg=P.evaluate)
    history = json.dumps([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}])
    for net in ("gcn", "hasher"):
        (tmp_path / "loss/digits/nrdh").mkdir(parents=True, exist_ok=True)
        (tmp_path / f"loss/digits/nrdh/{net}_16.json").write_text(history)
    runs = {}
    for run in ("a", "b"):
        out = tmp_path / run
        summarize_stage(
            sources=Sources(
                eval=f"{tmp_path}/eval/{{dataset}}/{{method}}/eval_{{bits}}.json",
                pr=f"{tmp_path}/pr/{{dataset}}/{{method}}/pr_{{bits}}.json",
                losses={
                    net: f"{tmp_path}/loss/{{dataset}}/{{method}}/{net}_{{bits}}.json"
                    for net in ("gcn", "hasher")
                },
                diag=f"{tmp_path}/diag/{{dataset}}/{{method}}/diag_{{bits}}.json",
            ),
            summary_out=out / "summary.json",
            headline_out=out / "headline.json",
            reports_dir=out,
            reference=P.summary.reference,
            params=PARAMS,
        )
        runs[run] = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert {p.suffix for p in runs["a"]} >= {".json", ".csv", ".md", ".png", ".svg"}
    assert runs["a"] == runs["b"]
