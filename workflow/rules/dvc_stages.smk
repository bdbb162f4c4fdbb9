# One rule per dvc.yaml stage group, resolved by DVC itself (nrdh.workflow.rules): DVC and
# Snakemake share one graph, and each job carries the values of the params DVC tracks for it.
from pathlib import Path

from nrdh.workflow.resources import load_resources
from nrdh.workflow.rules import check_params, load_rules

BASE = Path(workflow.basedir)
check_params(BASE / "params.yaml")  # the whole file, before any job: one `error:` line
DVC_RULES = load_rules(BASE)


for spec in DVC_RULES:
    res = load_resources(BASE / "workflow" / "resources.yaml", spec)

    rule:
        name:
            spec.name
        input:
            spec.job_inputs,
        output:
            *spec.snakemake_outputs(),
        wildcard_constraints:
            **spec.constraints(),
        threads: res.pop("threads")
        resources:
            **res,
        log:
            spec.log(),
        params:
            cmd=spec.job_cmd,
            values=spec.job_params,
        conda:
            "../envs/nrdh.yaml"
        shell:
            "OMP_NUM_THREADS={threads} {params.cmd} > {log} 2>&1"
