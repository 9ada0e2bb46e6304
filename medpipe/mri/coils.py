"""Coil combination and sensitivity maps: RSS, SENSE expand/reduce, estimation from the ACS region.

Shapes follow medpipe's convention: coils at axis 1, ``(B, C, H, W)`` (or ``(B, C, D, H, W)``),
native complex64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from medpipe.mri.espirit import espirit_maps
from medpipe.mri.fft import ifftc
from medpipe.mri.layout import as_complex_tensor, check_finite

__all__ = ["acs_shape", "estimate_sensitivities", "rss", "sense_expand", "sense_reduce"]

_METHODS = ("lowres", "espirit")


def rss(x: torch.Tensor | np.ndarray, coil_dim: int = 1) -> torch.Tensor:
    """Root sum of squares over the coil axis.

    Args:
        x: complex or real coil images, e.g. complex64 ``(B, C, H, W)``.
        coil_dim: the coil axis.

    Returns:
        Real tensor (float32 for complex64 input) with the coil axis removed, e.g. ``(B, H, W)``.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch.Tensor or NumPy array, got {type(x).__name__}")
    if not -x.ndim <= coil_dim < x.ndim:
        raise ValueError(f"`coil_dim` must index an axis of `x` with shape {tuple(x.shape)}, got {coil_dim}")
    magnitude_squared = x.real**2 + x.imag**2 if x.is_complex() else x**2
    return torch.sqrt(magnitude_squared.sum(dim=coil_dim))


def _check_sens_pair(image: torch.Tensor, sens: torch.Tensor, image_name: str, image_layout: str) -> None:
    expected = (sens.shape[0],) + tuple(sens.shape[2:]) if image_layout == "image" else tuple(sens.shape)
    if sens.ndim < 3:
        raise ValueError(f"`sens` must have shape (B, C, *spatial), got {tuple(sens.shape)}")
    try:
        broadcast = torch.broadcast_shapes(tuple(image.shape), expected)
    except RuntimeError:
        broadcast = None
    if broadcast != expected or image.ndim != len(expected):
        raise ValueError(
            f"`{image_name}` must have shape {expected} to match `sens` of shape {tuple(sens.shape)}, "
            f"got {tuple(image.shape)}"
        )


def sense_expand(image: torch.Tensor, sens: torch.Tensor) -> torch.Tensor:
    """Coil images ``S_c x`` of one image.

    Args:
        image: complex64 ``(B, H, W)`` (or ``(B, D, H, W)``).
        sens: complex64 sensitivity maps ``(B, C, H, W)`` (or ``(B, C, D, H, W)``).

    Returns:
        complex64 coil images ``(B, C, H, W)``.
    """
    image = as_complex_tensor(image, "image")
    sens = as_complex_tensor(sens, "sens")
    _check_sens_pair(image, sens, "image", "image")
    return image.unsqueeze(1) * sens


def sense_reduce(coil_images: torch.Tensor, sens: torch.Tensor) -> torch.Tensor:
    """Combine coil images with the conjugate sensitivities, ``sum_c conj(S_c) x_c``.

    This is the adjoint of :func:`sense_expand`; when ``sum_c |S_c|^2 = 1`` it also inverts it.

    Args:
        coil_images: complex64 ``(B, C, H, W)``.
        sens: complex64 ``(B, C, H, W)``.

    Returns:
        complex64 image ``(B, H, W)``.
    """
    coil_images = as_complex_tensor(coil_images, "coil_images")
    sens = as_complex_tensor(sens, "sens")
    _check_sens_pair(coil_images, sens, "coil_images", "coils")
    return (sens.conj() * coil_images).sum(dim=1)


def _centred_run(sampled: torch.Tensor, centre: int) -> int:
    """Length of the symmetric run of True around ``centre`` in a 1D bool tensor."""
    size = sampled.numel()
    half = 0
    while centre - half - 1 >= 0 and centre + half < size and bool(sampled[centre - half - 1 : centre + half + 1].all()):
        half += 1
    return 2 * half


def acs_shape(kspace: torch.Tensor) -> tuple[int, int]:
    """Size ``(h, w)`` of the largest fully sampled centred rectangle of 2D k-space.

    A location counts as sampled where any coil is non-zero. The rectangle is grown symmetrically:
    first the widest run of fully sampled columns in the rows around the centre, then the rows.

    Args:
        kspace: complex64 ``(C, H, W)``.

    Returns:
        ``(h, w)`` with even sizes; ``(0, 0)`` when the centre is not sampled.
    """
    sampled = (kspace.abs() > 0).any(dim=0)
    height, width = sampled.shape
    cy, cx = height // 2, width // 2
    columns = sampled.all(dim=0)  # fully sampled columns (fastMRI-style 1D masks)
    rows = sampled.all(dim=1)
    w = _centred_run(columns, cx)
    if w:
        return height, w
    h = _centred_run(rows, cy)
    if h:
        return h, width
    half = 0  # 2D masks: a fully sampled centred square, then widen each axis
    while cy - half - 1 >= 0 and cx - half - 1 >= 0 and cy + half < height and cx + half < width:
        if not bool(sampled[cy - half - 1 : cy + half + 1, cx - half - 1 : cx + half + 1].all()):
            break
        half += 1
    return 2 * half, 2 * half


def _acs_box(shape: Sequence[int], acs_lines: int | Sequence[int]) -> tuple[int, int]:
    height, width = shape
    if isinstance(acs_lines, (int, np.integer)) and not isinstance(acs_lines, bool):
        box = (height, int(acs_lines))
    elif isinstance(acs_lines, Sequence) and len(acs_lines) == 2:
        box = (int(acs_lines[0]), int(acs_lines[1]))
    else:
        raise TypeError(f"`acs_lines` must be None, an int or a pair (h, w), got {acs_lines!r}")
    if not (0 < box[0] <= height and 0 < box[1] <= width):
        raise ValueError(f"`acs_lines` must give a region inside the k-space of size {(height, width)}, got {box}")
    return box


def _crop_centre(kspace: torch.Tensor, box: tuple[int, int]) -> torch.Tensor:
    height, width = kspace.shape[-2:]
    top = height // 2 - box[0] // 2
    left = width // 2 - box[1] // 2
    return kspace[..., top : top + box[0], left : left + box[1]]


def _lowres_maps(kspace: torch.Tensor, box: tuple[int, int], threshold: float) -> torch.Tensor:
    """Low-resolution coil images divided by their RSS (Hann-windowed ACS, zero-padded)."""
    height, width = kspace.shape[-2:]
    rows = torch.hann_window(box[0] + 2, periodic=False, device=kspace.device)[1:-1]
    columns = torch.hann_window(box[1] + 2, periodic=False, device=kspace.device)[1:-1]
    window = torch.outer(rows, columns)
    padded = torch.zeros_like(kspace)
    top, left = height // 2 - box[0] // 2, width // 2 - box[1] // 2
    padded[..., top : top + box[0], left : left + box[1]] = _crop_centre(kspace, box) * window.to(kspace.dtype)
    coil_images = ifftc(padded)
    combined = rss(coil_images, coil_dim=0)
    keep = combined > max(threshold, 1e-6) * combined.max()
    return torch.where(keep, coil_images / torch.where(keep, combined, torch.ones_like(combined)), 0)


def estimate_sensitivities(
    kspace: torch.Tensor | np.ndarray,
    *,
    acs_lines: int | Sequence[int] | None = None,
    method: str = "lowres",
    threshold: float | None = None,
    kernel_size: int = 6,
    crop: float = 0.95,
) -> torch.Tensor:
    """Estimate coil sensitivity maps from the auto-calibration (ACS) region of 2D k-space.

    ``"lowres"``: the Hann-windowed ACS region is zero-padded, inverse transformed and divided by its
    RSS, so ``sum_c |S_c|^2 = 1`` wherever the RSS exceeds ``threshold * max`` (default ``1e-6``,
    i.e. almost everywhere). ``"espirit"``: the eigenvector of the ESPIRiT operator with the largest
    eigenvalue at each pixel (Uecker et al., MRM 2014, doi:10.1002/mrm.24751); the singular vectors
    of the calibration matrix above ``threshold * s_max`` (default 0.02) span the signal subspace,
    maps are zero where the eigenvalue is at most ``crop``, unit norm elsewhere, and phase-referenced
    to coil 0. See :func:`medpipe.mri.espirit.espirit_maps`.

    Args:
        kspace: complex64 ``(B, C, H, W)`` or ``(C, H, W)``, fully or partially sampled.
        acs_lines: the ACS region: an int is a number of centred columns over all rows (fastMRI
            1D masks), a pair ``(h, w)`` a centred rectangle, ``None`` detects the largest fully
            sampled centred rectangle from the non-zero pattern, per batch item.
        method: ``"lowres"`` or ``"espirit"``.
        threshold: relative RSS threshold (lowres) or singular-value threshold (espirit).
        kernel_size: ESPIRiT kernel width (clipped to half the smaller ACS side).
        crop: ESPIRiT eigenvalue threshold.

    Returns:
        complex64 maps with the shape of ``kspace``.

    Raises:
        TypeError: for non-complex k-space.
        ValueError: for NaN in k-space, an unknown method, a wrong rank or an empty ACS region.
    """
    kspace = check_finite(as_complex_tensor(kspace, "kspace"), "kspace")
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {_METHODS}, got {method!r}")
    unbatched = kspace.ndim == 3
    if unbatched:
        kspace = kspace.unsqueeze(0)
    if kspace.ndim != 4:
        raise ValueError(f"`kspace` must have shape (B, C, H, W) or (C, H, W), got {tuple(kspace.shape)}")
    maps = []
    for item in kspace:
        box = acs_shape(item) if acs_lines is None else _acs_box(item.shape[-2:], acs_lines)
        if min(box) < 2:
            raise ValueError(
                f"`kspace` must have a fully sampled centre to calibrate from, got ACS size {box}; "
                "pass `acs_lines` explicitly"
            )
        if method == "lowres":
            maps.append(_lowres_maps(item, box, 0.0 if threshold is None else threshold))
        else:
            calibration = _crop_centre(item, box)
            maps.append(
                espirit_maps(
                    calibration,
                    tuple(item.shape[-2:]),
                    kernel_size=kernel_size,
                    threshold=0.02 if threshold is None else threshold,
                    crop=crop,
                )
            )
    result = torch.stack(maps)
    return result[0] if unbatched else result
