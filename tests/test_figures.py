"""The figures (nrdh.figures): run files read by their template fields, the retrieval grid
laid out by hand, PR curves of an older evaluator."""

import json

import numpy as np
import pytest

from nrdh import figures, io
from nrdh.errors import NRDHError


def test_run_files_are_keyed_by_their_template_fields(tmp_path):
    for name in ("ds/nrdh/seed2/gcn_32.json", "ds/nrdh/seed2/hasher_32.json", "ds/x/gcn_64.json"):
        io.write_json(tmp_path / name, [name])
    with_seed = figures.read_runs(
        f"{tmp_path}/{{dataset}}/{{method}}/seed{{seed}}/gcn_{{bits}}.json"
    )
    assert with_seed == {("ds", "nrdh", 2, 32): ["ds/nrdh/seed2/gcn_32.json"]}
    without = figures.read_runs(f"{tmp_path}/{{dataset}}/{{method}}/gcn_{{bits}}.json")
    assert without == {("ds", "x", 0, 64): ["ds/x/gcn_64.json"]}  # no seed field: seed 0
    with pytest.raises(NRDHError, match=r"needs the fields \['bits'\]"):
        figures.read_runs(f"{tmp_path}/{{dataset}}/{{method}}/gcn.json")


def test_grid_image_places_tiles_and_frames_by_hand() -> None:
    """One query and two results, 8x8 greyscale: tile 8, frame and gap 1, cell 10; the
    query tile at x 0, results after a one-pixel extra gap at x 12 and 23."""
    from PIL import Image

    grey = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 20, 30)]
    canvas = figures.grid_image([(grey[0], [(grey[1], True), (grey[2], False)])])
    assert canvas.shape == (11, 3 * 11 + 1, 3)
    assert canvas[0, 0].tolist() == [255, 255, 255]  # the query's frame: none (white)
    assert canvas[1, 1].tolist() == [10, 10, 10] and canvas[8, 8].tolist() == [10, 10, 10]
    assert canvas[0, 12].tolist() == list(figures.FRAME_RGB[True])
    assert canvas[1, 13].tolist() == [20, 20, 20]
    assert canvas[9, 32].tolist() == list(figures.FRAME_RGB[False])
    assert canvas[5, 28].tolist() == [30, 30, 30]
    assert canvas[10].tolist() == [[255, 255, 255]] * canvas.shape[1]  # the gap row below


def test_grid_caption_explains_only_the_frames_drawn() -> None:
    """An unlabelled query's results get no frame, and the caption names no colour."""
    from PIL import Image

    img = Image.fromarray(np.zeros((8, 8), np.uint8))
    assert figures.frames_caption([(img, [(img, None), (img, None)])]) == "unframed: no labels"
    both = [(img, [(img, True)]), (img, [(img, False)])]
    assert figures.frames_caption(both) == "green: shares a label; red: shares none"


def test_grid_image_shrinks_large_images_into_the_tile() -> None:
    from PIL import Image

    big = Image.fromarray(np.zeros((300, 150, 3), np.uint8))
    canvas = figures.grid_image([(big, [(big, None)])], tile_max=96)
    assert canvas.shape == (96 + 24 + 12, 2 * (96 + 24 + 12) + 12, 3)
    assert canvas[12 + 48, 12 + 48].tolist() == [0, 0, 0]  # the image, centred
    assert canvas[12 + 48, 12 + 5].tolist() == [255, 255, 255]  # 48 px wide: white beside it


def test_pr_files_of_an_older_evaluator_draw_their_recorded_precision(tmp_path):
    """A study's curves from before `returned` (radius, precision, recall only) still draw."""
    from nrdh.figures import plot_pr_curves

    for method in ("a", "b"):
        path = tmp_path / "pr" / "digits" / method / "seed0" / "pr_16.json"
        path.parent.mkdir(parents=True)
        rows = [{"radius": r, "recall": r / 4, "precision": 1 - r / 8} for r in range(5)]
        path.write_text(json.dumps(rows))
    template = str(tmp_path / "pr" / "{dataset}" / "{method}" / "seed{seed}" / "pr_{bits}.json")
    plot_pr_curves(template, tmp_path / "reports")
    assert (tmp_path / "reports" / "pr_curves.svg").stat().st_size > 1000
