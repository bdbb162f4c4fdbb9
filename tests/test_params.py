"""The one params model: params.yaml validated whole, one source of every default."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest
import yaml
from conftest import ROOT, default_params, make_project, overlay, tool, write_params

from nrdh.config import from_mapping
from nrdh.errors import NRDHError
from nrdh.params import (
    SECTIONS,
    SOURCES,
    DigitsData,
    GCNConfig,
    ListData,
    load_params,
    parse,
)
from nrdh.peers import PEERS


def test_defaults_are_the_papers():
    p = default_params()
    assert (p.graph.M, p.graph.rho, p.graph.p, p.graph.distance) == (10, 0.4, 0.8, "cosine")
    assert (p.gcn.alpha, p.gcn.beta, p.gcn.hidden) == (0.999, 0.001, (64, 64))
    assert (p.hasher.mu, p.hasher.omega) == (0.8, 0.2)


def test_params_yaml_is_the_one_source_of_section_defaults():
    """No section class carries a default of its own; params.yaml sets every field."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    classes = {**SECTIONS, **{f"peers.{k}": c.config for k, c in PEERS.items()}}
    for key, cls in classes.items():
        fields = dataclasses.fields(cls)
        with_default = [
            f.name
            for f in fields
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        ]
        assert with_default == [], f"{key}: defaults in code for {with_default}"
        section = raw[key] if "." not in key else raw["peers"][key.split(".")[1]]
        assert set(section) == {f.name for f in fields}, key


def test_unknown_and_missing_keys_are_named():
    with pytest.raises(
        NRDHError,
        match=re.escape("graph: unknown key(s) ['rhoo'] (did you mean 'rho' for 'rhoo'?)"),
    ):
        parse(overlay({"graph": {"rhoo": 0.5}}))
    with pytest.raises(
        NRDHError, match=re.escape("unknown section(s) ['grpah'] (did you mean 'graph'")
    ):
        parse({**overlay({}), "grpah": {}})
    raw = overlay({})
    del raw["gcn"]["lr"]
    with pytest.raises(NRDHError, match=re.escape("gcn: missing key(s) ['lr']")):
        parse(raw)


def test_wrong_type_and_literal_are_named():
    with pytest.raises(NRDHError, match=re.escape("graph.M: expected an integer, got '10'")):
        parse(overlay({"graph": {"M": "10"}}))
    with pytest.raises(
        NRDHError, match=re.escape("graph.distance: expected one of ['cosine', 'euclidean']")
    ):
        parse(overlay({"graph": {"distance": "manhattan"}}))


def test_out_of_range_is_named():
    with pytest.raises(NRDHError, match=re.escape("gcn.alpha: 1.5 is out of range")):
        parse(overlay({"gcn": {"alpha": 1.5}}))
    with pytest.raises(NRDHError, match=re.escape("base.bits[0]: 0 is out of range")):
        parse(overlay({"base": {"bits": [0]}, "grid": {"bits": 0}}))


def test_lists_become_tuples_and_ints_floats():
    cfg = dataclasses.asdict(default_params().gcn) | {"hidden": [32, 16], "lr": 1}
    gcn = from_mapping(GCNConfig, cfg, "gcn")
    assert gcn.hidden == (32, 16) and gcn.lr == 1.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grid": {"bits": 48}}, "grid.bits: 48 is not one of base.bits [16, 32, 64]"),
        ({"grid": {"method": "pcah", "bits": 32}, "base": {"methods": ["nrdh"]}}, "grid.method"),
        ({"base": {"methods": ["nrdh", "lhs"]}}, "base.methods[1]: 'lhs' is neither"),
        ({"base": {"variants": ["nrdh", "plus"]}}, "base.variants[1]: 'plus' is not a key"),
        ({"baselines": {"methods": ["lsh", "itqq"]}}, "baselines.methods[1]: unknown baseline"),
        ({"base": {"datasets": ["digits", "cifar"]}}, "base.datasets[1]: 'cifar' is not a key"),
        ({"variants": {"nrdh": {"gcn": {"alpha": 2.0}}}}, "gcn.alpha: 2.0 is out of range"),
    ],
)
def test_cross_references_are_checked(changes, message):
    with pytest.raises(NRDHError, match=re.escape(message)):
        parse(overlay(changes))


def test_variant_overrides_are_typed_and_merged():
    p = default_params(variants={"nrdh": {}, "ablation": {"gcn": {"identity_graph": True}}})
    assert p.variant("ablation").gcn == dataclasses.replace(p.gcn, identity_graph=True)
    assert p.variant("ablation").graph == p.graph
    with pytest.raises(NRDHError, match=re.escape("variants.nope is not defined")):
        p.variant("nope")


def test_datasets_are_a_tagged_union_on_source():
    p = default_params(
        datasets={
            "digits": {"source": "digits", "query_per_class": 5},
            "digits_mosaic": {"source": "digits_mosaic"},
            "mine": {"source": "list", "root": "lists", "protocol": "coco"},
        }
    )
    assert isinstance(p.dataset("digits"), DigitsData)
    assert isinstance(p.dataset("mine"), ListData) and p.dataset("mine").protocol == "coco"
    assert set(SOURCES) == {
        *("digits", "digits_mosaic", "mnist", "torchvision", "cifar10", "list", "folder")
    }
    # a key of another source is refused, naming the entry
    with pytest.raises(NRDHError, match=re.escape("datasets.digits: unknown key(s) ['root']")):
        parse(overlay({"datasets": {"digits": {"source": "digits", "root": "x"}}}))
    with pytest.raises(NRDHError, match=re.escape("datasets.x.source: expected one of")):
        parse(overlay({"datasets": {"x": {"source": "imagenet"}}}))


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("graph: {rho: [0.4\n")
    with pytest.raises(NRDHError, match=re.escape("params.yaml: not valid YAML")):
        load_params(bad)
    with pytest.raises(NRDHError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_both_engines_refuse_a_bad_cross_reference_before_any_job(tmp_path):
    params = write_params(tmp_path / "params.yaml", {"grid": {"bits": 48}})
    project = make_project(tmp_path / "p", params)
    line = "error: grid.bits: 48 is not one of base.bits [16, 32, 64]"
    env = {"PATH": f"{tool('dvc').rsplit('/', 1)[0]}:/usr/bin:/bin", "PYTHONPATH": f"{project}/src"}
    results = {}
    for cmd in ([tool("dvc"), "repro"], [tool("snakemake"), "-n", "--cores", "1"]):
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env)
        results[cmd[0]] = proc
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert line in (proc.stdout + proc.stderr).splitlines(), proc.stdout + proc.stderr
    ran = re.findall(r"Running stage '([^']+)'", results[tool("dvc")].stdout)
    assert ran == ["code_digests", "check_params"]  # code digests, the validator, no job
    assert not (project / "data" / "digits").exists()


def test_a_dataset_may_choose_its_own_feature_backbone() -> None:
    p = parse(
        overlay(
            {
                "base": {"datasets": ["mnist"]},
                "datasets": {
                    "mnist": {"source": "mnist"},
                    "mnist_simclr": {"source": "mnist", "backbone": "simclr"},
                },
            }
        )
    )
    assert p.features_for("mnist") == p.features
    assert p.features_for("mnist_simclr").backbone == "simclr"
    assert p.features_for("mnist_simclr").chunk_size == p.features.chunk_size
    with pytest.raises(NRDHError, match=r"datasets\.x\.backbone: expected one of"):
        parse(
            overlay(
                {
                    "base": {"datasets": ["x"]},
                    "datasets": {"x": {"source": "mnist", "backbone": "vit"}},
                }
            )
        )
