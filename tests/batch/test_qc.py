"""QC pictures: the centre of the labels, the PNG size, and deterministic bytes."""

import numpy as np
import pytest

from medpipe.batch.qc import label_centre, save_overlay_png, save_side_by_side_png


def test_label_centre():
    label = np.zeros((5, 6, 7), int)
    assert label_centre(label) == (2, 3, 3)
    label[1, 4, 6] = 2
    label[3, 4, 6] = 1
    assert label_centre(label) == (2, 4, 6)


def test_overlay_png_is_written_deterministically(tmp_path):
    import matplotlib.image

    rng = np.random.default_rng(0)
    image = rng.random((21, 22, 19)).astype(np.float32)
    label = np.zeros(image.shape, np.uint8)
    label[5:9, 6:10, 7:9] = 4
    save_overlay_png(tmp_path / "a.png", image, label)
    save_overlay_png(tmp_path / "b.png", image, label)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    pixels = matplotlib.image.imread(tmp_path / "a.png")
    assert pixels.shape[:2] == (208, 576)


def test_side_by_side_png(tmp_path):
    import matplotlib.image

    save_side_by_side_png(tmp_path / "r.png", {"reconstruction": np.ones((6, 5)), "zero-filled": np.eye(6, 5) * (1 + 1j)})
    assert matplotlib.image.imread(tmp_path / "r.png").shape[:2] == (208, 384)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="`image` and `label` must be 3-D on one grid"):
        save_overlay_png(tmp_path / "x.png", np.zeros((5, 6, 7)), np.zeros((5, 6, 8)))
    with pytest.raises(ValueError, match=r"`images\['a'\]` must be 2-D"):
        save_side_by_side_png(tmp_path / "x.png", {"a": np.zeros((5, 6, 7))})
