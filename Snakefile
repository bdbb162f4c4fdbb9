# Snakemake entry point. The rules come from dvc.yaml as DVC resolves it (see
# workflow/rules/dvc_stages.smk), so `snakemake` and `dvc repro` build the same artifacts
# with the same commands, and both rerun a job when a param it reads changes.
#   local:  snakemake --profile workflow/profiles/local
#   SLURM:  snakemake --profile workflow/profiles/slurm


from nrdh.engines.rules import all_targets


workdir: workflow.basedir


include: "workflow/rules/dvc_stages.smk"


rule all:
    default_target: True
    input:
        all_targets(DVC_RULES),
