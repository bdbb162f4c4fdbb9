"""One module per stage of dvc.yaml, named after it; the script stages/<name>.py calls its
`run(params, args)`.

Each module declares its stage's flags as a small dataclass, `Args` (`nrdh.runner.parse_args`
makes them the command's flags), and `run` reads the params sections the stage declares in
dvc.yaml and calls the module's `<name>_stage` function (what the tests call), which takes
those sections as keywords, and its paths and flags as keywords or, where they are many,
whole as the stage's `Args` or a small job object (compute_codes_shard's `CodesJob`).
code_digests, the engines' own stage, is `nrdh.engines.code`.
"""
