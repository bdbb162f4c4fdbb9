# One rule per dvc.yaml stage group, resolved by DVC itself (nrdh.engines.rules): DVC and
# Snakemake share one graph, and each job carries the values of the params DVC tracks for it.
from pathlib import Path

from nrdh.engines.lock import record_build
from nrdh.engines.resources import load_resources
from nrdh.engines.rules import check_params, dvc_stage_names, load_rules

BASE = Path(workflow.basedir)
# the whole file, before any job (one `error:` line), and each dataset's data linked
PARAMS = check_params(BASE / "params.yaml")
DVC_RULES = load_rules(BASE)


# One state for both engines: the stages of a successful build are committed to dvc.lock.
onsuccess:
    record_build(BASE, dvc_stage_names(DVC_RULES, workflow.dag.jobs))


for spec in DVC_RULES:
    res = load_resources(BASE / "workflow" / "resources.yaml", spec, PARAMS)

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
        benchmark:
            spec.benchmark()
        params:
            cmd=spec.job_cmd,
            values=spec.job_params,
        conda:
            "../envs/nrdh.yaml"
        shell:
            # the thread count the job asked for is what its libraries run (torch stages set
            # theirs from the same params key, workflow/resources.yaml); the job's output,
            # progress bars included, goes to its log and to Snakemake's terminal, as DVC
            # shows a stage's
            "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} NUMBA_NUM_THREADS={threads} "
            "{params.cmd} 2>&1 | tee {log}"
