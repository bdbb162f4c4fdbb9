"""The stage graph's machinery: dvc.yaml is the one declaration, and these modules derive
from it what each engine needs.

- `nrdh.workflow.dvc`: dvc.yaml as DVC itself resolves it, the one place that touches DVC's
  internals, with the range of DVC versions it is tested on;
- `nrdh.workflow.rules`: the resolved stages as Snakemake rules;
- `nrdh.workflow.resources`: each rule's resources and whether it asks for a GPU;
- `nrdh.workflow.code`: the source files each stage runs, their digests, dvc.yaml's code deps.
"""
