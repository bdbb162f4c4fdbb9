"""The stage graph's machinery for its two engines, DVC and Snakemake: dvc.yaml is the one
declaration, and these modules derive from it what each engine needs (Snakemake's own files
are in the top-level workflow/).

- `nrdh.engines.dvc`: dvc.yaml as DVC itself resolves it, the one place that touches DVC's
  internals, with the range of DVC versions it is tested on;
- `nrdh.engines.rules`: the resolved stages as Snakemake rules;
- `nrdh.engines.resources`: each rule's resources and whether it asks for a GPU;
- `nrdh.engines.code`: the source files each stage runs, their digests, dvc.yaml's code deps;
- `nrdh.engines.lock`: dvc.lock after a Snakemake build, and the check that it is current.
"""
