"""Write any ImageSet in the field's list-file format (DeepHash-pytorch), as image files.

`<out>/{test,database,train}.txt` hold one line per image, `relative/path.png 0 1 0 ...`
(multi-hot labels), and `<out>/classes.txt` the class names, so the result loads back with
`source: list` and can be shared with other hashing code.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from nrdh.data import ImageSet

LIST_FILES = {"query": "test.txt", "database": "database.txt", "train": "train.txt"}


def export_list_dataset(images: ImageSet, out: Path, fmt: str = "png") -> None:
    """Save every image under out/images/ and write the three list files and classes.txt."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rel = [f"images/{i:06d}.{fmt}" for i in range(len(images))]
    for i in tqdm(range(len(images)), desc="export", leave=False):
        images[i].save(out / rel[i])
    for split, name in LIST_FILES.items():
        lines = (
            f"{rel[i]} {' '.join(str(v) for v in images.labels[i])}\n" for i in images.split[split]
        )
        (out / name).write_text("".join(lines))
    (out / "classes.txt").write_text("".join(f"{c}\n" for c in images.class_names))
