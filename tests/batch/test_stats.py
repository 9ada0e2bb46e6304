"""Label statistics against NumPy; border-touching labels keep their volume and are flagged."""

import numpy as np
import pytest

from medpipe.batch.stats import label_masks, label_statistics


def test_volumes_border_flags_and_intensities_match_numpy():
    label = np.zeros((5, 6, 7), dtype=np.uint8)
    label[1:3, 2:4, 2:5] = 1  # inside
    label[0:2, 0:1, 0:2] = 4  # touches the border
    image = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    affine = np.diag([0.5, 2.0, 3.0, 1.0])
    rows = {r["label"]: r for r in label_statistics(label_masks(label, {1: "core"}), affine, {"t1": image})}
    assert set(rows) == {"core", "label_4"}
    assert rows["core"]["voxels"] == 12 and rows["core"]["volume_ml"] == pytest.approx(12 * 3.0 / 1000)
    assert rows["core"]["touches_border"] is False
    assert rows["label_4"]["touches_border"] is True and rows["label_4"]["voxels"] == 4
    inside = image[label == 1]
    assert rows["core"]["t1_mean"] == pytest.approx(inside.mean())
    assert rows["core"]["t1_p50"] == pytest.approx(np.median(inside))
    assert (rows["core"]["t1_min"], rows["core"]["t1_max"]) == (inside.min(), inside.max())


def test_channel_first_predictions_and_empty_channels():
    prediction = np.zeros((2, 5, 6, 7), dtype=np.uint8)
    prediction[0, 2, 2, 2] = 1
    rows = label_statistics(label_masks(prediction, {0: "TC", 1: "WT"}), np.eye(4), {"flair": np.ones((5, 6, 7))})
    assert [(r["label"], r["voxels"], r["flair_mean"]) for r in rows] == [("TC", 1, 1.0), ("WT", 0, None)]


def test_errors():
    with pytest.raises(ValueError, match=r"`prediction` must be \(X, Y, Z\) or \(C, X, Y, Z\)"):
        label_masks(np.zeros((5, 6)))
    masks = {"a": np.ones((5, 6, 7), bool)}
    with pytest.raises(ValueError, match=r"`images\['t1'\]` must have the label grid shape"):
        label_statistics(masks, np.eye(4), {"t1": np.ones((7, 6, 5))})
    with pytest.raises(ValueError, match=r"`masks\['b'\]` must have shape"):
        label_statistics({**masks, "b": np.ones((5, 6, 8), bool)}, np.eye(4))
