"""registration_pair: determinism, warp convention (scipy and MONAI Warp), volume ratio, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import ndimage

from medpipe.synthetic.registration import jacobian_determinant, registration_pair

SHAPE = (34, 30, 26)
SPACING = (5.6, 5.9, 6.0)


def _pair(seed=0, volume_ratio=1.3):
    return registration_pair(SHAPE, spacing=SPACING, seed=seed, volume_ratio=volume_ratio)


@pytest.fixture(scope="module")
def pair():
    return _pair()


def _digest(p):
    arrays = (p.moving, p.fixed, p.moving_label, p.fixed_label, p.ddf)
    return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()


def test_determinism(pair):
    assert _digest(_pair()) == _digest(pair)
    assert _digest(_pair(seed=1)) != _digest(pair)


def test_shapes_and_dtypes(pair):
    for image in (pair.moving, pair.fixed):
        assert image.shape == SHAPE and image.dtype == np.float32
    for label in (pair.moving_label, pair.fixed_label):
        assert label.shape == SHAPE and label.dtype == np.uint8
        assert set(np.unique(label).tolist()) == {0, 1}
    assert pair.ddf.shape == (3, *SHAPE) and pair.ddf.dtype == np.float32


@pytest.mark.parametrize("ratio", [0.6, 1.0, 1.3, 2.0])
def test_volume_ratio(ratio):
    p = _pair(seed=2, volume_ratio=ratio)
    assert p.volume_ratio == ratio
    measured = p.fixed_label.sum() / p.moving_label.sum()
    assert measured == pytest.approx(p.voxel_volume_ratio)
    assert measured == pytest.approx(ratio, rel=0.1)


def test_deformation_is_invertible_and_not_trivial(pair):
    assert jacobian_determinant(pair.ddf).min() > 0.2
    assert np.abs(pair.ddf).max() > 0.5


def _warp_scipy(image, ddf, order):
    grid = np.indices(image.shape, dtype=np.float64) + ddf
    return ndimage.map_coordinates(image, grid, order=order, mode="nearest")


def test_fixed_is_moving_warped_by_ddf(pair):
    warped = _warp_scipy(pair.moving, pair.ddf, order=1)
    brain = (pair.fixed > 0) | (pair.moving > 0)
    error_warped = np.abs(warped - pair.fixed)[brain].mean()
    error_identity = np.abs(pair.moving - pair.fixed)[brain].mean()
    assert error_warped < 0.6 * error_identity
    label = _warp_scipy(pair.moving_label, pair.ddf, order=0)
    dice = 2 * (label & pair.fixed_label).sum() / (label.sum() + pair.fixed_label.sum())
    assert dice > 0.8
    # the warped tumour has the fixed volume; the reverse convention moving(x - ddf) shrinks it
    soft = _warp_scipy(pair.moving_label.astype(np.float64), pair.ddf, order=1)
    reverse = _warp_scipy(pair.moving_label.astype(np.float64), -pair.ddf, order=1)
    assert soft.sum() / pair.moving_label.sum() == pytest.approx(pair.volume_ratio, rel=0.1)
    assert reverse.sum() / pair.moving_label.sum() < 1.0


@pytest.mark.filterwarnings("ignore:monai.networks.blocks.Warp")
def test_monai_warp_matches_scipy(pair):
    torch = pytest.importorskip("torch")
    from monai.networks.blocks import Warp

    moving = torch.from_numpy(pair.moving)[None, None]
    ddf = torch.from_numpy(pair.ddf)[None]
    warped = Warp(mode="bilinear", padding_mode="border")(moving, ddf)[0, 0].numpy()
    np.testing.assert_allclose(warped, _warp_scipy(pair.moving, pair.ddf, order=1), atol=1e-4)


def test_jacobian_of_uniform_scaling():
    grid = np.indices((9, 10, 11), dtype=np.float64)
    ddf = 0.1 * grid  # x -> 1.1 x
    np.testing.assert_allclose(jacobian_determinant(ddf), 1.1**3)
    with pytest.raises(ValueError, match="ddf"):
        jacobian_determinant(np.zeros((2, 4, 4, 4)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"volume_ratio": 0.3}, "volume_ratio"),
        ({"volume_ratio": 3.0}, "volume_ratio"),
        ({"modality": "pd"}, "modality"),
        ({"num_bumps": -1}, "num_bumps"),
        ({"shape": (10, 30, 26)}, "shape"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        registration_pair(**{"shape": SHAPE, "spacing": SPACING, **kwargs})
