"""Small multi-coil test data built from NumPy alone (independent of medpipe.synthetic)."""

from __future__ import annotations

import numpy as np
import pytest


def numpy_multicoil(height: int = 40, width: int = 36, coils: int = 6, seed: int = 0):
    """An elliptical phantom with smooth phase and Gaussian-blob coils normalised to sum |S|^2 = 1.

    Returns:
        image complex64 (H, W), sens complex64 (C, H, W), kspace complex64 (C, H, W) computed with
        NumPy's centred orthonormal FFT.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    image = ((yy**2 / 0.6 + xx**2 / 0.5) < 1) * (1.0 + 0.5 * ((yy - 0.2) ** 2 + xx**2 < 0.1))
    image = (image * np.exp(1j * (xx + 0.3 * rng.standard_normal()))).astype(np.complex64)
    sens = []
    for c in range(coils):
        angle = 2 * np.pi * c / coils
        cy, cx = 1.3 * np.sin(angle), 1.3 * np.cos(angle)
        sens.append(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 1.5) * np.exp(1j * 0.5 * yy * c))
    sens = np.asarray(sens)
    sens = (sens / np.sqrt((np.abs(sens) ** 2).sum(0))).astype(np.complex64)
    axes = (-2, -1)
    kspace = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(sens * image, axes=axes), norm="ortho"), axes=axes)
    return image, sens, kspace.astype(np.complex64)


@pytest.fixture
def multicoil():
    return numpy_multicoil()


@pytest.fixture
def make_multicoil():
    """The builder itself, for sizes other than the default."""
    return numpy_multicoil
