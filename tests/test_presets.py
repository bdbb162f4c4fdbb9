"""Presets (presets/*.yaml): overlays on params.yaml, valid once merged, with the paper settings."""

from pathlib import Path

import pytest

from nrdh.config import load_yaml
from nrdh.errors import NRDHError
from nrdh.params import ListData, MnistData, load_params
from nrdh.presets import apply_preset, load_preset, overlay

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "presets").glob("*.yaml"))
PAPER_SECTIONS = ("graph", "gcn", "node_reps", "evaluate", "peers")


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_is_a_short_overlay_of_known_keys(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 40
    raw, default = load_yaml(path), load_yaml(ROOT / "params.yaml")
    for section, values in raw.items():
        assert section in default
        if isinstance(values, dict) and section not in ("datasets", "variants"):
            assert set(values) <= set(default[section]), f"{path.name}: {section}"
            assert any(default[section][k] != v for k, v in values.items()), "changes nothing"
    load_preset(path, ROOT / "params.yaml")  # valid as a whole once merged


@pytest.mark.parametrize("name", ["scale", "scale_cpu"])
def test_scale_presets_keep_the_paper_settings(name: str) -> None:
    params = load_preset(ROOT / "presets" / f"{name}.yaml", ROOT / "params.yaml")
    default = load_params(ROOT / "params.yaml")
    for section in PAPER_SECTIONS:
        assert getattr(params, section) == getattr(default, section)
    assert params.base.bits == (16, 32, 64) and params.base.datasets == ("scale",)
    assert (params.features.backbone, params.hasher.backbone) == ("resnet101", "resnet18")
    assert (params.hasher.mu, params.hasher.omega, params.hasher.image_size) == (0.8, 0.2, 0)
    ds = params.dataset("scale")
    assert isinstance(ds, ListData) and ds.root == f"data/collections/{name}"


def test_mnist_preset_runs_the_28x28_digits_with_paper_settings() -> None:
    params = load_preset(ROOT / "presets" / "mnist.yaml", ROOT / "params.yaml")
    default = load_params(ROOT / "params.yaml")
    for section in PAPER_SECTIONS:
        assert getattr(params, section) == getattr(default, section)
    assert all(isinstance(params.dataset(d), MnistData) for d in params.base.datasets)
    assert params.base.seeds == (0, 1, 2)


def test_overlay_updates_keys_one_by_one_each_value_whole() -> None:
    base = {
        "graph": {"M": 10, "rho": 0.4},
        "datasets": {"a": {"source": "digits", "topk": 5}, "c": {"source": "digits"}},
    }
    changes = {"graph": {"rho": 0.5}, "datasets": {"a": {"source": "mnist"}, "b": {}}}
    assert overlay(base, changes) == {
        "graph": {"M": 10, "rho": 0.5},
        "datasets": {"a": {"source": "mnist"}, "c": {"source": "digits"}, "b": {}},
    }
    assert base["graph"]["rho"] == 0.4  # inputs untouched


def test_apply_preset_keeps_comments_and_refuses_an_invalid_result(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    apply_preset(empty, params)
    assert params.read_bytes() == (ROOT / "params.yaml").read_bytes()  # layout round-trips
    good = tmp_path / "good.yaml"
    good.write_text("graph:\n  rho: 0.5   # the preset's own note\n")
    apply_preset(good, params)
    text = params.read_text()
    assert "rho: 0.5   # the preset's own note" in text
    assert "M: 10              # paper (Table 3)" in text  # untouched keys keep comments
    assert load_params(params).graph.rho == 0.5
    before = params.read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("graph:\n  rho: 1.5\n")
    with pytest.raises(NRDHError, match=r"graph\.rho: 1\.5 is out of range"):
        apply_preset(bad, params)
    assert params.read_bytes() == before
