"""One path contract: workflow/paths.yaml declares each artifact's file name, dvc.yaml writes
every path from it, and the code only fills in path templates (`nrdh.paths`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_project, overlay, run, tool

from nrdh import io, paths
from nrdh.engines.dvc import stage_flags
from nrdh.errors import NRDHError

DECLARATION = "workflow/paths.yaml"


def test_fill_names_every_field_exactly() -> None:
    assert paths.fill("m/s{seed}/h_{bits}.pt", seed=0, bits=16) == Path("m/s0/h_16.pt")
    assert paths.per_bits("c/{bits}.h5", (16, 64)) == [Path("c/16.h5"), Path("c/64.h5")]
    with pytest.raises(NRDHError, match=r"c/codes.h5: a path template with fields \[\]"):
        paths.per_bits("c/codes.h5", (16, 64))  # one file for two code lengths
    with pytest.raises(NRDHError, match=r"fields \['bits', 'shard'\], expected \['bits'\]"):
        paths.fill("s/{shard}/{bits}.h5", bits=16)
    with pytest.raises(NRDHError, match="not a path template"):
        paths.fields("m/{bits.pt")


def test_find_lists_the_files_a_template_matches(tmp_path: Path) -> None:
    for name in (
        "a/nrdh/seed0/eval_16.json",
        "a/nrdh/seed1/eval_64.json",
        "a/lsh/seed0/eval_x.json",
    ):
        io.write_json(tmp_path / name, {})
    (tmp_path / "a/nrdh/seed2/eval_8.json").mkdir(parents=True)  # a folder, not a file
    template = f"{tmp_path}/{{dataset}}/{{method}}/seed{{seed}}/eval_{{bits}}.json"
    run = {"dataset": "a", "method": "nrdh"}
    assert paths.find(template) == [
        (tmp_path / "a/nrdh/seed0/eval_16.json", {**run, "seed": 0, "bits": 16}),
        (tmp_path / "a/nrdh/seed1/eval_64.json", {**run, "seed": 1, "bits": 64}),
    ]  # the name that is no code length is not the template's
    io.write_json(tmp_path / "b/b/x.json", {})
    io.write_json(tmp_path / "b/c/x.json", {})
    assert [f for _, f in paths.find(f"{tmp_path}/{{dataset}}/{{dataset}}/x.json")] == [
        {"dataset": "b"}  # a repeated field takes one value
    ]


def declared_stems() -> dict[str, str]:
    """The stem of each artifact kind declared in workflow/paths.yaml."""
    files = yaml.safe_load((ROOT / DECLARATION).read_text())["files"]
    return {kind: spec["stem"] for kind, spec in files.items()}


def test_no_file_name_is_written_outside_the_declaration() -> None:
    """dvc.yaml takes every per-code-length name from the vars file and the code builds none:
    no `<stem>${item.bits}` in dvc.yaml, no `<stem>{b...}` in the stages or the package."""
    assert "workflow/paths.yaml" in yaml.safe_load((ROOT / "dvc.yaml").read_text())["vars"]
    texts = {p: p.read_text() for d in ("src", "stages") for p in (ROOT / d).rglob("*.py")}
    texts[ROOT / "dvc.yaml"] = (ROOT / "dvc.yaml").read_text()
    for stem in filter(None, declared_stems().values()):
        for path, text in texts.items():
            for written in (f"{stem}${{item.bits}}", f"{stem}{{b", f"{stem}*"):
                assert written not in text, f"{path}: {written!r}: use {DECLARATION}"


ONE_DATASET = {"base": {"datasets": ["digits"]}}


def rename(project: Path) -> None:
    """Rename the hash network's checkpoint in a project's declaration (a one-line edit)."""
    path = project / DECLARATION
    text = path.read_text()
    old = "  hasher: {stem: hasher_, ext: .pt}"
    assert text.count(old) == 1
    path.write_text(text.replace(old, old.replace("hasher_", "hashnet_")))


@pytest.mark.slow
def test_a_renamed_artifact_is_written_and_read_by_both_engines(tmp_path, tiny_params) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(overlay(ONE_DATASET, tiny_params), sort_keys=False))
    dvc, smk = make_project(tmp_path / "dvc", params), make_project(tmp_path / "smk", params)
    for project in (dvc, smk):
        rename(project)
    run([tool("dvc"), "repro"], dvc)
    run([tool("snakemake"), "--cores", "2", "--profile", "workflow/profiles/local"], smk)
    run_dir = "digits/nrdh/seed0"
    for project in (dvc, smk):
        assert (project / f"models/{run_dir}/hashnet_16.pt").is_file()
        assert not list(project.glob("models/**/hasher_*.pt"))
        assert (project / f"plots/loss/{run_dir}/hasher_16.json").is_file()  # not renamed
        for method in ("nrdh", "lsh"):
            m = json.loads(
                (project / f"metrics/eval/digits/{method}/seed0/eval_16.json").read_text()
            )
            assert 0.0 <= m["map_all"] <= 1.0 and m["bits"] == 16
        diag = json.loads((project / f"metrics/diag/{run_dir}/diag_16.json").read_text())
        assert diag["provenance"]["inputs"]["hasher"]["path"] == f"models/{run_dir}/hashnet_16.pt"
        summary = json.loads((project / "metrics/summary.json").read_text())
        assert set(summary["digits"]) == {"nrdh", "lsh"}
    assert (dvc / "metrics/summary.json").read_bytes() == (
        smk / "metrics/summary.json"
    ).read_bytes()


def test_compare_reads_the_summarize_stage_templates() -> None:
    """`nrdh compare` finds what the summarize stage finds: its flags as DVC resolves them."""
    flags = stage_flags(ROOT, "summarize")
    assert flags["eval"] == "metrics/eval/{dataset}/{method}/seed{seed}/eval_{bits}.json"
    assert flags["hasher_loss"].endswith("/hasher_{bits}.json")
    assert flags["features"] == "metrics/features/{dataset}.json"
