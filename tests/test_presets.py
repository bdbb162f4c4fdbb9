"""The scale presets (presets/*.yaml): full params files, valid, with the paper settings."""

from pathlib import Path

import pytest

from nrdh.config import load_yaml
from nrdh.params import ListData, load_params

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "presets").glob("*.yaml"))


def keys(tree: dict, prefix: str = "") -> set[str]:
    """Every dotted key path of a nested mapping (the datasets entries excluded)."""
    out = set()
    for k, v in tree.items():
        if isinstance(v, dict) and k not in ("datasets", "variants"):
            out |= keys(v, f"{prefix}{k}.")
        else:
            out.add(f"{prefix}{k}")
    return out


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_is_a_full_params_file_with_the_paper_settings(path: Path) -> None:
    raw, raw_default = load_yaml(path), load_yaml(ROOT / "params.yaml")
    assert keys(raw) == keys(raw_default)  # drop-in for params.yaml: no key missing or extra
    params, default = load_params(path), load_params(ROOT / "params.yaml")  # valid as a whole
    for section in ("graph", "gcn", "node_reps", "evaluate", "peers"):
        assert getattr(params, section) == getattr(default, section)
    assert params.base.bits == (16, 32, 64) and params.base.datasets == ("scale",)
    features, hasher = params.features, params.hasher
    assert (features.backbone, hasher.backbone) == ("resnet101", "resnet18")
    assert (hasher.mu, hasher.omega, hasher.image_size) == (0.8, 0.2, 0)
    ds = params.dataset("scale")
    assert isinstance(ds, ListData) and ds.root.startswith("data/collections/")
