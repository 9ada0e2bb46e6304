"""Percentile intensity scaling of k-space, so that networks see images of a fixed range.

Raw k-space magnitudes differ by orders of magnitude between scanners and sequences. Dividing the
k-space by a high percentile of the magnitude of its zero-filled image (the FFT is linear, so the
image scales with it) puts images near ``[0, 1]`` while a few bright pixels cannot dominate, as a
maximum would.
"""

from __future__ import annotations

import numpy as np
import torch

from medpipe.mri.coils import rss
from medpipe.mri.fft import ifftc
from medpipe.mri.layout import as_complex_tensor

__all__ = ["percentile", "percentile_scale", "scale_kspace_by_percentile"]


def percentile(x: torch.Tensor | np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0-100, linear interpolation) of ``|x|`` over all elements."""
    if not 0 <= q <= 100:
        raise ValueError(f"`q` must be in [0, 100], got {q!r}")
    values = torch.as_tensor(x).detach()
    values = values.abs() if values.is_complex() else values
    return float(np.percentile(values.cpu().double().numpy(), q))


def _safe(scale: float, name: str) -> float:
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"`{name}` must have a positive, finite percentile to scale by, got {scale!r}; is it all zeros?")
    return scale


def percentile_scale(x: torch.Tensor, q: float = 99.5) -> tuple[torch.Tensor, float]:
    """Divide an image (real or complex) by the ``q``-th percentile of its magnitude.

    Args:
        x: image tensor of any shape and dtype.
        q: percentile in ``[0, 100]``.

    Returns:
        ``(x / scale, scale)``.
    """
    scale = _safe(percentile(x, q), "x")
    return x / scale, scale


def scale_kspace_by_percentile(
    kspace: torch.Tensor | np.ndarray, q: float = 99.5, *, spatial_dims: int = 2
) -> tuple[torch.Tensor, float]:
    """Divide multi-coil k-space by the ``q``-th percentile of its zero-filled RSS image.

    Args:
        kspace: complex64 ``(C, H, W)`` or ``(B, C, H, W)`` (coils at axis -1 - spatial_dims).
        q: percentile in ``[0, 100]``.
        spatial_dims: 2 or 3.

    Returns:
        ``(kspace / scale, scale)``; multiply reconstructions by ``scale`` to undo it.
    """
    kspace = as_complex_tensor(kspace, "kspace")
    image = rss(ifftc(kspace, spatial_dims), coil_dim=-1 - spatial_dims)
    scale = _safe(percentile(image, q), "kspace")
    return kspace / scale, scale
