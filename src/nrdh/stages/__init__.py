"""Stage functions: one per stage in dvc.yaml, called by the thin scripts in stages/."""
