"""brain_phantom: determinism, contrasts, BraTS labels, nesting, tumour controls, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from medpipe.synthetic.brain import MODALITIES, brain_phantom, to_brats2023_labels

SHAPE, SPACING = (40, 46, 30), (6.0, 5.2, 5.2)


def _digest(phantom) -> str:
    sha = hashlib.sha256()
    for array in (*(phantom.images[m] for m in MODALITIES), phantom.label, phantom.brain_mask, phantom.affine):
        sha.update(np.ascontiguousarray(array).tobytes())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def phantom():
    return brain_phantom(SHAPE, SPACING, seed=3)


def test_same_seed_same_bytes_and_different_seed_differs(phantom):
    assert _digest(brain_phantom(SHAPE, SPACING, seed=3)) == _digest(phantom)
    assert _digest(brain_phantom(SHAPE, SPACING, seed=4)) != _digest(phantom)


def test_shapes_dtypes_affine(phantom):
    assert set(phantom.images) == set(MODALITIES)
    for image in phantom.images.values():
        assert image.shape == SHAPE and image.dtype == np.float32
    assert phantom.label.shape == SHAPE and phantom.label.dtype == np.uint8
    assert phantom.brain_mask.dtype == bool
    stacked = phantom.stacked()
    assert stacked.shape == (4, *SHAPE) and stacked.dtype == np.float32
    np.testing.assert_array_equal(stacked[2], phantom.images["t2"])
    np.testing.assert_allclose(np.diag(phantom.affine)[:3], SPACING)
    # the volume centre is at world 0
    centre = phantom.affine @ np.array([*((np.array(SHAPE) - 1) / 2), 1.0])
    np.testing.assert_allclose(centre[:3], 0.0, atol=1e-9)


def test_skull_stripped_and_not_piecewise_constant(phantom):
    for image in phantom.images.values():
        assert np.all(image[~phantom.brain_mask] == 0)
        assert np.all(image >= 0)
    assert phantom.brain_mask.mean() > 0.15
    white_matter_like = phantom.images["t1"][phantom.brain_mask & (phantom.label == 0)]
    assert np.unique(white_matter_like).size > 0.9 * white_matter_like.size


def test_relative_contrasts(phantom):
    healthy = phantom.brain_mask & (phantom.label == 0)
    t1, t2 = phantom.images["t1"], phantom.images["t2"]
    # the brightest healthy T2 voxels are CSF: dark on T1 and suppressed on FLAIR
    csf = healthy & (t2 > np.quantile(t2[healthy], 0.99))
    white = healthy & (t1 > np.quantile(t1[healthy], 0.8))
    assert t1[csf].mean() < 0.5 * t1[white].mean()
    assert t2[csf].mean() > 2.0 * t2[white].mean()
    assert phantom.images["flair"][csf].mean() < 0.5 * phantom.images["flair"][white].mean()
    enhancing, oedema = phantom.label == 4, phantom.label == 2
    assert phantom.images["t1ce"][enhancing].mean() > 1.3 * phantom.images["t1"][enhancing].mean()
    assert phantom.images["flair"][oedema].mean() > 1.5 * phantom.images["flair"][white].mean()


def test_labels_present_and_nested(phantom):
    from scipy import ndimage

    label = phantom.label
    assert set(np.unique(label)) == {0, 1, 2, 4}
    assert np.all(phantom.brain_mask[label > 0])
    # necrosis is enclosed by enhancing tumour, which is enclosed by oedema (+ brain edge)
    necrotic, core, whole = label == 1, np.isin(label, (1, 4)), label > 0
    assert not np.any(ndimage.binary_dilation(necrotic) & (label == 2))
    assert not np.any(ndimage.binary_dilation(core) & ~whole & phantom.brain_mask)


def test_solid_tumour_has_no_necrosis():
    phantom = brain_phantom(SHAPE, SPACING, seed=3, ring_enhancing=False)
    assert set(np.unique(phantom.label)) == {0, 2, 4}
    assert phantom.ring_enhancing is False


def test_tumour_position_and_volume_scale_with_radius():
    centre = (22.0, 20.0, 16.0)
    volumes = []
    for radius in (12.0, 18.0):
        p = brain_phantom(SHAPE, SPACING, seed=1, tumour_center=centre, tumour_radius=radius)
        np.testing.assert_allclose(p.tumour_center, centre)
        assert p.tumour_radius == radius
        core = np.isin(p.label, (1, 4))
        centroid = np.argwhere(core).mean(axis=0)
        assert np.all(np.abs(centroid - centre) * SPACING < 0.25 * radius)
        volumes.append(core.sum() * np.prod(SPACING))
    # volume grows like radius^3 (lobulation and discretisation allow a margin)
    assert 0.6 * (18 / 12) ** 3 < volumes[1] / volumes[0] < 1.4 * (18 / 12) ** 3
    sphere = 4 / 3 * np.pi * 12.0**3
    assert 0.6 * sphere < volumes[0] < 1.5 * sphere


def test_brats2023_labels():
    p = brain_phantom(SHAPE, SPACING, seed=3, label_convention="brats2023")
    assert set(np.unique(p.label)) == {0, 1, 2, 3}
    converted = to_brats2023_labels(np.array([0, 1, 2, 4], dtype=np.uint8))
    np.testing.assert_array_equal(converted, [0, 1, 2, 3])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shape": (4, 40, 40)}, "shape"),
        ({"spacing": (1.0, -1.0, 1.0)}, "spacing"),
        ({"seed": -1}, "seed"),
        ({"tumour_center": (1, 2)}, "tumour_center"),
        ({"tumour_center": (0, 0, 0)}, "inside the brain"),
        ({"tumour_radius": 0.5}, "tumour_radius"),
        ({"label_convention": "brats2019"}, "label_convention"),
    ],
)
def test_errors(kwargs, match):
    arguments = {"shape": (16, 18, 12), "spacing": (12.0, 11.0, 11.0), **kwargs}
    with pytest.raises(ValueError, match=match):
        brain_phantom(**arguments)


def test_seed_type_error():
    with pytest.raises(TypeError, match="seed"):
        brain_phantom((16, 18, 12), seed=1.5)


def test_to_brats2023_errors():
    with pytest.raises(ValueError, match="BraTS values"):
        to_brats2023_labels(np.array([0, 3]))
    with pytest.raises(TypeError, match="integer"):
        to_brats2023_labels(np.array([0.0, 4.0]))


@pytest.mark.slow
def test_full_size():
    p = brain_phantom()
    assert p.stacked().shape == (4, 240, 240, 155)
    assert set(np.unique(p.label)) == {0, 1, 2, 4}
