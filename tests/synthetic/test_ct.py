"""abdomen_ct_phantom: determinism, BTCV ids, RAS placement, HU ranges, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from medpipe.synthetic.ct import BTCV_LABELS, abdomen_ct_phantom

SHAPE, SPACING = (40, 34, 28), (3.6, 3.5, 5.7)


@pytest.fixture(scope="module")
def phantom():
    return abdomen_ct_phantom(SHAPE, SPACING, seed=1)


def _digest(p):
    return hashlib.sha256(p.image.tobytes() + p.label.tobytes() + p.affine.tobytes()).hexdigest()


def test_determinism(phantom):
    assert _digest(abdomen_ct_phantom(SHAPE, SPACING, seed=1)) == _digest(phantom)
    assert _digest(abdomen_ct_phantom(SHAPE, SPACING, seed=2)) != _digest(phantom)


def test_shapes_dtypes_and_label_ids(phantom):
    assert phantom.image.shape == SHAPE and phantom.image.dtype == np.float32
    assert phantom.label.shape == SHAPE and phantom.label.dtype == np.uint8
    assert set(np.unique(phantom.label).tolist()) == {0, 1, 2, 3, 4, 6, 7, 8, 11}
    assert set(BTCV_LABELS.values()) == {1, 2, 3, 4, 6, 7, 8, 11}
    assert np.all(phantom.body_mask[phantom.label > 0])


def _world_centroid(p, value):
    index = np.argwhere(p.label == value).mean(axis=0)
    return (p.affine @ np.append(index, 1.0))[:3]


def test_anatomical_placement_in_ras(phantom):
    liver, spleen = _world_centroid(phantom, 6), _world_centroid(phantom, 1)
    right_kidney, left_kidney = _world_centroid(phantom, 2), _world_centroid(phantom, 3)
    aorta, stomach = _world_centroid(phantom, 8), _world_centroid(phantom, 7)
    # RAS: +x is the patient's left
    assert liver[0] < 0 < spleen[0]
    assert right_kidney[0] < 0 < left_kidney[0]
    assert stomach[0] > 0
    # kidneys and aorta are posterior (-y) to the stomach; liver is the largest organ
    assert right_kidney[1] < stomach[1] and aorta[1] < stomach[1]
    volumes = {v: int((phantom.label == v).sum()) for v in BTCV_LABELS.values()}
    assert max(volumes, key=volumes.get) == 6


def test_hounsfield_units(phantom):
    image, label = phantom.image, phantom.label
    assert abs(np.median(image[~phantom.body_mask]) + 1000) < 5
    for value, low, high in ((6, 45, 75), (1, 35, 65), (8, 100, 230), (4, 0, 35)):
        assert low < np.median(image[label == value]) < high, value
    assert image.max() > 400  # bone (partial volume at this coarse spacing)
    assert np.median(image[phantom.body_mask & (label == 0)]) < 0  # fat-dominated background
    # not piecewise constant: noise and texture inside the liver
    assert 5 < image[label == 6].std() < 40


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shape": (20, 34, 28)}, ValueError, "shape"),
        ({"spacing": (1.0, 1.0)}, ValueError, "spacing"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "a"}, TypeError, "seed"),
    ],
)
def test_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        abdomen_ct_phantom(**kwargs)
