"""Stage retrieval_grid: random queries and their top results as a picture (Fig. 9 style)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nrdh import figures, search
from nrdh.codes_file import read_codes
from nrdh.data import DatasetRef
from nrdh.params import GridConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    dataset: str
    codes: Path  # the codes file shown
    out: Path  # the picture written


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    retrieval_grid_stage(
        codes_path=args.codes,
        out=args.out,
        data=DatasetRef.of(p, args.dataset),
        cfg=p.grid,
    )


def retrieval_grid_stage(
    *,
    codes_path: Path,
    out: Path,
    data: DatasetRef,
    cfg: GridConfig,
) -> None:
    """Random queries and their top-k results, correct ones framed green, wrong ones red,
    labelled with the method, code length, query ids and each result's distance."""
    codes = read_codes(codes_path)
    images = data.load()
    rng = np.random.default_rng(data.seed)
    nq = len(codes["query"]["index"])
    q = np.sort(rng.choice(nq, min(cfg.queries, nq), replace=False))
    dists, ids = search.knn(
        codes["query"]["codes"][q], codes["database"]["codes"], cfg.k, codes["bits"]
    )
    yq, yb = codes["query"]["labels"], codes["database"]["labels"]
    rows = [
        (
            images[int(codes["query"]["index"][i])],
            [
                (images[int(codes["database"]["index"][j])], bool((yq[i] & yb[j]).any()))
                for j in row
            ],
        )
        for i, row in zip(q, ids, strict=True)
    ]
    figures.retrieval_grid(
        rows,
        out,
        title=f"{data.name}: {codes['method']}, {codes['bits']} bits",
        query_ids=[str(codes["query"]["ids"][i]) for i in q],
        distances=[[int(d) for d in row] for row in dists],
    )
