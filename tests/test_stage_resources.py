"""benchmarks/stage_resources.py: Snakemake's per-job benchmark records summed per rule."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def stage_resources():
    """The benchmark script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "stage_resources", ROOT / "benchmarks/stage_resources.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_record(logs: Path, rule: str, job: str, seconds: float, rss: float, cpu: float) -> None:
    """One job's TSV in Snakemake's benchmark layout."""
    (logs / rule).mkdir(parents=True, exist_ok=True)
    row = f"{seconds}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n"
    (logs / rule / f"{job}.tsv").write_text(HEADER + row)


def test_jobs_are_summed_per_rule_with_the_longest_job_and_largest_peak(tmp_path):
    write_record(tmp_path, "train_hasher", "d-nrdh-0-16", 10.0, 300.0, 9.0)
    write_record(tmp_path, "train_hasher", "d-nrdh-0-32", 14.0, 320.0, 13.0)
    write_record(tmp_path, "evaluate", "d-lsh-0", 1.5, 90.0, 1.2)
    (tmp_path / "evaluate" / "d-lsh-0.log").write_text("not a record\n")
    module = stage_resources()
    table = module.per_rule(module.load(tmp_path))
    assert list(table.index) == ["train_hasher", "evaluate", "total"]
    assert table.loc["train_hasher"].to_dict() == {
        "jobs": 2,
        "wall_s": 24.0,
        "longest_s": 14.0,
        "cpu_s": 22.0,
        "peak_rss_mb": 320.0,
    }
    assert table.loc["total"].to_dict() == {
        "jobs": 3,
        "wall_s": 25.5,
        "longest_s": 14.0,
        "cpu_s": 23.2,
        "peak_rss_mb": 320.0,
    }


def test_no_records_is_one_error_naming_the_folder(tmp_path):
    with pytest.raises(SystemExit, match=f"error: no benchmark files under {tmp_path}"):
        stage_resources().load(tmp_path)
