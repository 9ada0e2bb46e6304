"""kspace_phantom: determinism, coil normalisation, forward model and RSS against NumPy."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from medpipe.synthetic.kspace import fft2c, ifft2c, ismrmrd_header, kspace_phantom

SHAPE = (40, 34)


def _digest(p) -> str:
    arrays = (p.image, p.sensitivities, p.kspace, p.reconstruction_rss)
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


@pytest.fixture(scope="module")
def phantom():
    return kspace_phantom(SHAPE, 5, num_slices=3, seed=2, noise_std=0.02)


def test_determinism(phantom):
    assert _digest(kspace_phantom(SHAPE, 5, num_slices=3, seed=2, noise_std=0.02)) == _digest(phantom)
    assert _digest(kspace_phantom(SHAPE, 5, num_slices=3, seed=5, noise_std=0.02)) != _digest(phantom)


def test_shapes_and_dtypes(phantom):
    assert phantom.image.shape == (3, *SHAPE) and phantom.image.dtype == np.complex64
    assert phantom.sensitivities.shape == (3, 5, *SHAPE) and phantom.sensitivities.dtype == np.complex64
    assert phantom.kspace.shape == (3, 5, *SHAPE) and phantom.kspace.dtype == np.complex64
    assert phantom.reconstruction_rss.shape == (3, *SHAPE) and phantom.reconstruction_rss.dtype == np.float32


def test_sensitivities_have_unit_rss(phantom):
    np.testing.assert_allclose((np.abs(phantom.sensitivities) ** 2).sum(axis=1), 1.0, atol=1e-5)
    # smooth, genuinely different coils, with phase
    assert np.ptp(np.abs(phantom.sensitivities[0]), axis=(1, 2)).min() > 0.1
    assert np.abs(np.angle(phantom.sensitivities)).max() > 0.5


def test_image_has_anatomy_and_smooth_phase(phantom):
    magnitude = np.abs(phantom.image)
    assert magnitude.max() > 0.5 and (magnitude == 0).mean() > 0.3
    phase = np.angle(phantom.image[0])
    inside = magnitude[0] > 0.1
    assert np.ptp(phase[inside]) > 0.1
    assert np.abs(np.diff(phase, axis=1)[inside[:, 1:] & inside[:, :-1]]).max() < 0.5


def test_reconstruction_rss_matches_numpy(phantom):
    axes = (-2, -1)
    coil_images = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(phantom.kspace, axes=axes), norm="ortho"), axes=axes)
    expected = np.sqrt((np.abs(coil_images) ** 2).sum(axis=1))
    np.testing.assert_allclose(phantom.reconstruction_rss, expected, rtol=1e-5, atol=1e-6)


def test_noise_free_kspace_is_the_sense_forward_model():
    p = kspace_phantom(SHAPE, 4, seed=7)
    expected = fft2c(p.sensitivities.astype(np.complex128) * p.image[:, None])
    np.testing.assert_allclose(p.kspace, expected, rtol=0, atol=1e-5)
    # with unit-RSS coils the RSS of the noise-free coil images is |image|
    np.testing.assert_allclose(p.reconstruction_rss, np.abs(p.image), atol=1e-5)


def test_noise_level():
    clean = kspace_phantom(SHAPE, 4, seed=7)
    noisy = kspace_phantom(SHAPE, 4, seed=7, noise_std=0.1)
    np.testing.assert_array_equal(noisy.image, clean.image)
    noise = (noisy.kspace - clean.kspace).astype(np.complex128)
    assert abs(np.sqrt(np.mean(np.abs(noise) ** 2)) - 0.1) < 0.01
    assert abs(noise.real.std() - noise.imag.std()) < 0.01


def test_fft_pair_is_orthonormal():
    x = np.random.default_rng(0).standard_normal((3, 7, 6)) + 0j
    np.testing.assert_allclose(ifft2c(fft2c(x)), x, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(fft2c(x)), np.linalg.norm(x))


def test_ismrmrd_header_encoding(phantom):
    root = ET.fromstring(ismrmrd_header(phantom))
    ns = {"m": "http://www.ismrm.org/ISMRMRD"}
    size = root.find("m:encoding/m:encodedSpace/m:matrixSize", ns)
    assert (int(size.find("m:x", ns).text), int(size.find("m:y", ns).text)) == SHAPE
    limits = root.find("m:encoding/m:encodingLimits/m:kspace_encoding_step_1", ns)
    assert int(limits.find("m:maximum", ns).text) == SHAPE[1] - 1
    assert int(limits.find("m:center", ns).text) == SHAPE[1] // 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shape": (4, 40)}, "shape"),
        ({"num_coils": 0}, "num_coils"),
        ({"num_slices": 0}, "num_slices"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"contrast": "dwi"}, "contrast"),
        ({"seed": -3}, "seed"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kspace_phantom(**kwargs)


def test_many_slices_all_cross_the_brain():
    p = kspace_phantom((24, 20), 2, num_slices=30, seed=1)
    assert p.slice_spacing < 5.0
    assert np.all(np.abs(p.image).reshape(30, -1).max(axis=1) > 0.1)
