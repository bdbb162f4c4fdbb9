"""Write any ImageSet in the field's list-file format (DeepHash-pytorch), as image files.

`<out>/{test,database,train}.txt` hold one line per image, `relative/path.png 0 1 0 ...`
(multi-hot labels), and `<out>/classes.txt` the class names, so the result loads back with
`source: list` and can be shared with other hashing code. `scale_collection` builds the
CIFAR-10-shaped collection of the scale scenario (docs/SCALE.md) from the embedded digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from nrdh.data import ImageSet, digits_arrays, one_hot, seeded_split
from nrdh.errors import NRDHError

LIST_FILES = {"query": "test.txt", "database": "database.txt", "train": "train.txt"}


def export_list_dataset(images: ImageSet, out: Path, fmt: str = "png") -> None:
    """Save every image under out/images/ and write the three list files and classes.txt."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rel = [f"images/{i:06d}.{fmt}" for i in range(len(images))]
    for i in tqdm(range(len(images)), desc="export", unit="image", leave=False):
        images[i].save(out / rel[i])
    for split, name in LIST_FILES.items():
        lines = (
            f"{rel[i]} {' '.join(str(v) for v in images.labels[i])}\n" for i in images.split[split]
        )
        (out / name).write_text("".join(lines))
    (out / "classes.txt").write_text("".join(f"{c}\n" for c in images.class_names))


def scale_collection(n: int, n_query: int, n_train: int, seed: int = 0) -> ImageSet:
    """A CIFAR-10-shaped collection built from the embedded digits: n 32x32 RGB images.

    Image k shows a digit of class k mod 10 (a random one of scikit-learn's 8x8 digits of
    that class), scaled to 14-28 pixels, at a random place, in a random colour, on a
    random two-colour gradient with pixel noise: real decode and resize work, no download.
    Splits follow the cifar10-1k protocol: class-balanced queries and training images,
    database = every non-query image (training images included).
    """
    if n < 10 or n_query + n_train >= n:
        raise NRDHError(
            f"make-scale-data: --n {n} must exceed --n-query {n_query} + --n-train {n_train}"
        )
    images, target = digits_arrays()
    glyphs = (images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]
    by_class = [np.flatnonzero(target == c) for c in range(10)]
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    ramp = np.linspace(0.0, 1.0, 32, dtype=np.float32)
    pixels = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for k in tqdm(range(n), desc="render", unit="image", leave=False):
        size = int(rng.integers(14, 29))
        glyph = Image.fromarray(glyphs[rng.choice(by_class[y[k]])]).resize(
            (size, size), Image.Resampling.BILINEAR
        )
        alpha = np.zeros((32, 32), np.float32)
        top, left = rng.integers(0, 33 - size, 2)
        alpha[top : top + size, left : left + size] = np.clip(np.asarray(glyph), 0.0, 1.0)
        c0, c1, ink = rng.uniform(0, 255, (3, 3)).astype(np.float32)
        t = ramp[:, None] if rng.random() < 0.5 else ramp[None, :]
        back = c0 + (c1 - c0) * t[..., None] + rng.normal(0, 12, (32, 32, 3))
        img = back * (1 - alpha[..., None]) + ink * alpha[..., None]
        pixels[k] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    split = seeded_split(y, n_query, n_train, 0, True, seed, balanced=True)
    return ImageSet(
        ids=np.array([f"scale/{k:06d}" for k in range(n)]),
        labels=one_hot(y, 10),
        class_names=[str(c) for c in range(10)],
        split=split,
        pixels=pixels,
    )
