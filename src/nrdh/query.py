"""Hash new images with a trained hash network and find their Hamming neighbours (FAISS)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from nrdh import codes, search
from nrdh.errors import NRDHError

ACCEPTED_MODES = {1: ("L", "1"), 3: ("RGB", "L")}


@dataclass(frozen=True)
class Neighbours:
    """The top-k database items of one query image."""

    query: str
    ids: list[str]
    distances: list[int]
    labels: list[list[str]]


def open_query_image(path: Path, channels: int, size: tuple[int, int] | None) -> Image.Image:
    """Open a query image, checking it decodes and has a mode and size the network takes.

    A greyscale network takes "L" (or 1-bit) images; an RGB network takes "RGB" or "L"
    (converted). `size` (W, H) is enforced when the network has no resize of its own.
    """
    if not path.is_file():
        raise NRDHError(f"{path}: query image not found")
    try:
        with Image.open(path) as img:
            img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise NRDHError(f"{path}: not a readable image ({exc})") from None
    if img.mode not in ACCEPTED_MODES[channels]:
        raise NRDHError(
            f"{path}: image mode {img.mode!r}, expected one of {list(ACCEPTED_MODES[channels])} "
            f"for a {channels}-channel hash network"
        )
    if size is not None and img.size != tuple(size):
        raise NRDHError(
            f"{path}: image size {img.size[0]}x{img.size[1]}, expected "
            f"{size[0]}x{size[1]} (the training images' size)"
        )
    return img.convert("L" if channels == 1 else "RGB")


def nearest(
    bq: np.ndarray, db_codes: np.ndarray, bits: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k database items of 0/1 query codes by Hamming distance, FAISS IndexBinaryFlat."""
    return search.knn(codes.pack_codes(bq), db_codes, min(k, len(db_codes)), bits, engine="faiss")


def check_codes_of_model(
    model_path: Path, codes_path: Path, meta: dict[str, Any], db: dict[str, Any]
) -> None:
    """Refuse codes the model did not produce: their provenance must name this very
    checkpoint (its MD5), so method, dataset and code length all agree with the model's."""
    from nrdh.io import file_digest, open_h5, read_attr_json

    with open_h5(codes_path, "codes") as f:
        prov = read_attr_json(f, "provenance")
    made_by = (prov.get("inputs") or {}).get("hasher", {}).get("md5")
    if made_by == file_digest(model_path):
        return
    datasets = [k.split(".", 1)[1] for k in prov.get("params", {}) if k.startswith("datasets.")]
    of = "".join(f"dataset {d!r}, " for d in datasets)  # baselines record none
    source = "another hash network" if made_by else "no hash network"
    raise NRDHError(
        f"{codes_path} and {model_path}: the codes were not made by this model (codes: method "
        f"{db['method']!r}, {of}{db['bits']} bits, made by {source}; model: dataset "
        f"{meta['dataset']!r}, {meta['bits']} bits); expected the codes file "
        "compute_codes wrote with this model"
    )


def run_query(
    model_path: Path, codes_path: Path, image_paths: list[Path], k: int, grid: Path | None = None
) -> list[Neighbours]:
    """Hash `image_paths` with a trained network and return their top-k database neighbours."""
    import torch

    from nrdh.codes_file import read_codes
    from nrdh.hash_network import load_hasher

    model, t_eval, meta = load_hasher(model_path)
    db = read_codes(codes_path)
    check_codes_of_model(model_path, codes_path, meta, db)
    images = [open_query_image(p, meta["channels"], meta.get("input_size")) for p in image_paths]
    with torch.no_grad():
        fch = model(torch.stack([t_eval(img) for img in images]))[1].numpy()
    dists, ids = nearest(codes.sign_to_bits(fch), db["database"]["codes"], db["bits"], k)
    names = db["class_names"]
    results = [
        Neighbours(
            query=str(path),
            ids=[str(db["database"]["ids"][j]) for j in row_ids],
            distances=[int(d) for d in row_d],
            labels=[
                [names[c] for c in np.flatnonzero(db["database"]["labels"][j])] for j in row_ids
            ],
        )
        for path, row_d, row_ids in zip(image_paths, dists, ids, strict=True)
    ]
    if grid is not None:
        from nrdh.data import load_dataset
        from nrdh.figures import retrieval_grid

        dataset = load_dataset(meta["dataset_config"], meta["seed"])
        rows = [
            (img, [(dataset[int(db["database"]["index"][j])], None) for j in row_ids])
            for img, row_ids in zip(images, ids, strict=True)
        ]
        retrieval_grid(rows, grid)
    return results
