"""The continuous brain model: grid and point evaluation agree; compartments nest by construction."""

from __future__ import annotations

import numpy as np

from medpipe.synthetic._brain_model import INTENSITIES, MODALITIES, BrainModel
from medpipe.synthetic._shapes import grid_coordinates


def _model(seed=0, **kwargs):
    return BrainModel(np.random.default_rng(seed), (96.0, 100.0, 80.0), 4.0, **kwargs)


def test_grid_and_points_agree():
    model = _model()
    coords = grid_coordinates((24, 25, 20), (4.0, 4.0, 4.0))
    images, label, mask = model.evaluate(coords)
    points = tuple(np.ascontiguousarray(c) for c in np.broadcast_arrays(*coords))
    images_p, label_p, mask_p = model.evaluate(points)
    for modality in MODALITIES:
        np.testing.assert_allclose(images[modality], images_p[modality], atol=1e-3)
    # labels can only differ where a level set passes within float rounding of a voxel centre
    assert (label != label_p).mean() < 0.002 and (mask != mask_p).mean() < 0.002


def test_tumour_levels_and_solid_option():
    centre = np.array([10.0, -5.0, 4.0])
    ring = _model(tumour_center=centre, tumour_radius=12.0)
    solid = _model(tumour_center=centre, tumour_radius=12.0, ring_enhancing=False)
    at_centre = tuple(np.array([c], dtype=np.float32) for c in centre)
    assert ring.tumour_distance(at_centre)[0] == 0.0
    assert ring.evaluate(at_centre)[1][0] == 1  # necrotic centre
    assert solid.evaluate(at_centre)[1][0] == 4  # solid enhancing centre
    assert ring.tumour_radius == 12.0 and np.array_equal(ring.tumour_center, centre)


def test_contrast_table_is_plausible():
    t1, t2, flair, t1ce = (INTENSITIES[m] for m in ("t1", "t2", "flair", "t1ce"))
    assert t1["wm"] > t1["gm"] > t1["csf"]
    assert t2["csf"] > t2["gm"] > t2["wm"]
    assert flair["csf"] < flair["wm"] and flair["oedema"] == max(flair.values())
    assert t1ce["enhancing"] == max(t1ce.values())
