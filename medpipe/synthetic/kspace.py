"""Multi-coil k-space phantom: axial brain slices, smooth phase, normalised coil sensitivities.

Forward model (the SENSE model of Pruessmann et al., 1999, on a fully sampled grid)::

    kspace[s, c] = F(sensitivities[s, c] * image[s]) + noise[s, c]

with ``F`` the centred orthonormal 2D FFT ``fftshift(fft2(ifftshift(x), norm="ortho"))`` over the
last two axes, and circularly-symmetric complex Gaussian noise with ``E|noise|^2 = noise_std^2``
(real and imaginary parts each of std ``noise_std / sqrt(2)``). The sensitivities satisfy
``sum_c |sensitivities[s, c]|^2 == 1`` at every pixel, so the root-sum-of-squares of the
noise-free coil images equals ``|image|``. ``reconstruction_rss`` is computed as in fastMRI: the
RSS over coils of ``F^-1(kspace)`` (here on the full matrix, without fastMRI's 320 x 320 crop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medpipe.synthetic._brain_model import MODALITIES, BrainModel
from medpipe.synthetic._shapes import check_seed, check_shape

__all__ = ["ACQUISITIONS", "KSpacePhantom", "fft2c", "ifft2c", "ismrmrd_header", "kspace_phantom"]

#: fastMRI brain acquisition names of each contrast.
ACQUISITIONS: dict[str, str] = {"t1": "AXT1", "t1ce": "AXT1POST", "t2": "AXT2", "flair": "AXFLAIR"}

#: In-plane field of view (mm) of the phantom: 240 mm across both H and W.
FIELD_OF_VIEW_MM = 240.0
#: Distance (mm) between consecutive slices (less when more than 21 slices must fit the brain).
SLICE_SPACING_MM = 5.0
_SLICE_RANGE_MM = 50.0


def fft2c(image: np.ndarray) -> np.ndarray:
    """Centred orthonormal 2D FFT over the last two axes (NumPy reference)."""
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=axes), norm="ortho"), axes=axes)


def ifft2c(kspace: np.ndarray) -> np.ndarray:
    """Centred orthonormal inverse 2D FFT over the last two axes (NumPy reference)."""
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=axes), norm="ortho"), axes=axes)


@dataclass(frozen=True)
class KSpacePhantom:
    """Fully sampled multi-coil k-space of axial brain slices.

    Attributes:
        image: complex64 (S, H, W) ground-truth complex image (magnitude anatomy, smooth phase).
        sensitivities: complex64 (S, C, H, W), ``sum_c |S_c|^2 == 1`` at every pixel.
        kspace: complex64 (S, C, H, W), ``fft2c(sensitivities * image[:, None]) + noise``.
        reconstruction_rss: float32 (S, H, W), RSS over coils of ``ifft2c(kspace)``.
        noise_std: standard deviation of the complex k-space noise.
        acquisition: fastMRI acquisition name of the contrast ("AXT2", ...).
        pixel_spacing: (row, column) spacing in mm.
        slice_spacing: distance between slices in mm.
        seed: the seed it was generated from.

    Rows (H) run from anterior to posterior, columns (W) from patient right to left, so
    ``reconstruction_rss[s]`` displays in radiological convention.
    """

    image: np.ndarray
    sensitivities: np.ndarray
    kspace: np.ndarray
    reconstruction_rss: np.ndarray
    noise_std: float
    acquisition: str
    pixel_spacing: tuple[float, float]
    slice_spacing: float
    seed: int


def _coil_sensitivities(
    rng: np.random.Generator, num_coils: int, rows: np.ndarray, cols: np.ndarray, slices: np.ndarray
) -> np.ndarray:
    """Gaussian coil profiles on a ring around the FOV with linear phase, normalised to unit RSS.

    ``rows``, ``cols``, ``slices``: normalised positions in [-1, 1] broadcasting to (S, 1, H, W).
    Returns complex128 (S, C, H, W).
    """
    offset = rng.uniform(0.0, 2.0 * np.pi)
    width = rng.uniform(0.7, 1.0)
    angles = offset + 2.0 * np.pi * np.arange(num_coils) / num_coils
    heights = rng.uniform(-0.3, 0.3, size=num_coils)
    phases = rng.uniform(-np.pi, np.pi, size=num_coils)
    tilts = rng.uniform(-0.5, 0.5, size=(num_coils, 2))
    ring = 1.3
    x0 = (ring * np.cos(angles))[:, None, None]
    y0 = (ring * np.sin(angles))[:, None, None]
    z0 = heights[:, None, None]
    distance2 = (cols - x0) ** 2 + (rows - y0) ** 2 + (slices - z0) ** 2
    phase = phases[:, None, None] + tilts[:, 0, None, None] * cols + tilts[:, 1, None, None] * rows
    raw = np.exp(-distance2 / (2.0 * width**2)) * np.exp(1j * phase)
    return raw / np.sqrt(np.sum(np.abs(raw) ** 2, axis=1, keepdims=True))


def kspace_phantom(
    shape: Sequence[int] = (64, 56),
    num_coils: int = 8,
    *,
    num_slices: int = 1,
    seed: int = 0,
    noise_std: float = 0.0,
    contrast: str = "t2",
) -> KSpacePhantom:
    """Deterministic multi-coil k-space phantom (same seed -> same bytes).

    The magnitude is an axial section through the brain model of :func:`brain_phantom` (one
    tumour, ``contrast`` weighting), the phase a random smooth quadratic, the coils Gaussian
    profiles on a ring around the FOV with individual phase. Slices are
    :data:`SLICE_SPACING_MM` apart around the tumour centre, all within 50 mm of the brain centre
    (closer together when there are more than 21).

    Args:
        shape: in-plane matrix (H, W), each >= 8.
        num_coils: number of receive coils C >= 1.
        num_slices: number of slices S >= 1.
        seed: non-negative int.
        noise_std: standard deviation (>= 0) of the complex Gaussian k-space noise; the image
            magnitude peaks near 1.
        contrast: one of "t1", "t1ce", "t2", "flair".

    Returns:
        A :class:`KSpacePhantom`.
    """
    height, width = check_shape(shape, name="shape", ndim=2, minimum=8)
    seed = check_seed(seed)
    for name, value in (("num_coils", num_coils), ("num_slices", num_slices)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive int, got {value!r}")
    if not (isinstance(noise_std, (int, float, np.floating)) and np.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"`noise_std` must be a finite number >= 0, got {noise_std!r}")
    if contrast not in MODALITIES:
        raise ValueError(f"`contrast` must be one of {MODALITIES}, got {contrast!r}")

    rng = np.random.default_rng(seed)
    spacing = (FIELD_OF_VIEW_MM / height, FIELD_OF_VIEW_MM / width)
    model = BrainModel(rng, (FIELD_OF_VIEW_MM, FIELD_OF_VIEW_MM, 155.0), min(spacing))
    # slices stay within +-50 mm of the brain centre (the brain reaches ~+-62 mm), around the tumour
    span = min(SLICE_SPACING_MM * (num_slices - 1), 2.0 * _SLICE_RANGE_MM)
    slice_spacing = span / (num_slices - 1) if num_slices > 1 else SLICE_SPACING_MM
    centre = float(np.clip(model.tumour_center[2], -_SLICE_RANGE_MM + span / 2, _SLICE_RANGE_MM - span / 2))
    z = (centre + (np.arange(num_slices) - (num_slices - 1) / 2.0) * slice_spacing).astype(np.float32)
    x = ((np.arange(width) - (width - 1) / 2.0) * spacing[1]).astype(np.float32)
    y = (((height - 1) / 2.0 - np.arange(height)) * spacing[0]).astype(np.float32)
    coords = (x[None, None, :], y[None, :, None], z[:, None, None])
    images, _, _ = model.evaluate(coords)
    magnitude = np.broadcast_to(images[contrast], (num_slices, height, width)).astype(np.float64)

    rows = (y / (FIELD_OF_VIEW_MM / 2.0)).astype(np.float64)[None, None, :, None]
    cols = (x / (FIELD_OF_VIEW_MM / 2.0)).astype(np.float64)[None, None, None, :]
    slices = (z / (FIELD_OF_VIEW_MM / 2.0)).astype(np.float64)[:, None, None, None]
    coefficients = rng.uniform(-0.6, 0.6, size=5)
    phase = (
        coefficients[0]
        + coefficients[1] * cols
        + coefficients[2] * rows
        + coefficients[3] * (cols**2 - rows**2)
        + coefficients[4] * cols * rows * (1.0 + slices)
    )
    image = (magnitude[:, None] * np.exp(1j * phase))[:, 0]
    sensitivities = _coil_sensitivities(rng, num_coils, rows, cols, slices)
    kspace = fft2c(sensitivities * image[:, None])
    if noise_std > 0:
        noise = rng.standard_normal((2, *kspace.shape))
        kspace = kspace + (noise_std / np.sqrt(2.0)) * (noise[0] + 1j * noise[1])
    kspace = kspace.astype(np.complex64)
    rss = np.sqrt(np.sum(np.abs(ifft2c(kspace)) ** 2, axis=1)).astype(np.float32)
    return KSpacePhantom(
        image=image.astype(np.complex64),
        sensitivities=sensitivities.astype(np.complex64),
        kspace=kspace,
        reconstruction_rss=rss,
        noise_std=float(noise_std),
        acquisition=ACQUISITIONS[contrast],
        pixel_spacing=spacing,
        slice_spacing=float(slice_spacing),
        seed=seed,
    )


def ismrmrd_header(phantom: KSpacePhantom) -> bytes:
    """Minimal ISMRMRD XML header (UTF-8 bytes) with the encoding of ``phantom``.

    Encoded and reconstructed matrices are ``x = H`` (readout, rows) and ``y = W`` (phase
    encoding, columns), as in fastMRI files; the phase-encoding limits span ``0 .. W - 1``
    with centre ``W // 2``.
    """
    num_slices, _, height, width = phantom.kspace.shape
    fov_x = height * phantom.pixel_spacing[0]
    fov_y = width * phantom.pixel_spacing[1]
    space = (
        f"<matrixSize><x>{height}</x><y>{width}</y><z>1</z></matrixSize>"
        f"<fieldOfView_mm><x>{fov_x:.3f}</x><y>{fov_y:.3f}</y><z>{phantom.slice_spacing:.3f}</z></fieldOfView_mm>"
    )
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">'
        f"<subjectInformation><patientID>synthetic-{phantom.seed}</patientID></subjectInformation>"
        "<acquisitionSystemInformation><systemVendor>medpipe</systemVendor>"
        f"<systemModel>synthetic</systemModel><receiverChannels>{phantom.kspace.shape[1]}</receiverChannels>"
        "</acquisitionSystemInformation>"
        "<encoding>"
        f"<encodedSpace>{space}</encodedSpace><reconSpace>{space}</reconSpace>"
        "<encodingLimits>"
        f"<kspace_encoding_step_1><minimum>0</minimum><maximum>{width - 1}</maximum><center>{width // 2}</center></kspace_encoding_step_1>"
        "<kspace_encoding_step_2><minimum>0</minimum><maximum>0</maximum><center>0</center></kspace_encoding_step_2>"
        f"<slice><minimum>0</minimum><maximum>{num_slices - 1}</maximum><center>{num_slices // 2}</center></slice>"
        "</encodingLimits>"
        "<trajectory>cartesian</trajectory>"
        "</encoding>"
        f"<measurementInformation><protocolName>{phantom.acquisition}</protocolName></measurementInformation>"
        "</ismrmrdHeader>"
    )
    return text.encode("utf-8")
