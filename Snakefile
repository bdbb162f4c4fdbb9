# Snakemake entry point. The rules come from dvc.yaml (see workflow/rules/dvc_stages.smk),
# so `snakemake` and `dvc repro` build the same artifacts with the same commands.
#   local:  snakemake --profile workflow/profiles/local
#   SLURM:  snakemake --profile workflow/profiles/slurm


from nrdh.workflow import all_targets


include: "workflow/rules/dvc_stages.smk"


rule all:
    default_target: True
    input:
        all_targets(DVC_RULES),
