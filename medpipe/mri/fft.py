"""Centred, orthonormal FFTs over the last 2 or 3 axes of native complex tensors.

"Centred" means the zero frequency sits at index ``n // 2`` of each transformed axis, in both
domains: ``fftc(x) = fftshift(fftn(ifftshift(x), norm="ortho"))``. This is the convention of fastMRI
and of MONAI's ``monai.networks.blocks.fft_utils_t.fftn_centered_t`` (which works on a trailing
real/imaginary axis; ``tests/mri/test_fft.py`` checks that both give bit-identical results).
"""

from __future__ import annotations

import numpy as np
import torch

from medpipe.mri.layout import as_complex_tensor

__all__ = ["fftc", "ifftc"]


def _dims(x: torch.Tensor, spatial_dims: int) -> tuple[int, ...]:
    if spatial_dims not in (1, 2, 3):
        raise ValueError(f"`spatial_dims` must be 1, 2 or 3, got {spatial_dims!r}")
    if x.ndim < spatial_dims:
        raise ValueError(
            f"`x` must have at least spatial_dims={spatial_dims} axes, got shape {tuple(x.shape)}"
        )
    return tuple(range(-spatial_dims, 0))


def fftc(x: torch.Tensor | np.ndarray, spatial_dims: int = 2) -> torch.Tensor:
    """Centred orthonormal forward FFT (image -> k-space) over the last ``spatial_dims`` axes.

    Args:
        x: complex64 ``(..., H, W)`` for ``spatial_dims=2`` or ``(..., D, H, W)`` for 3; a complex
            NumPy array is converted to a tensor.
        spatial_dims: number of trailing axes to transform (1, 2 or 3).

    Returns:
        complex tensor of the same shape and dtype as ``x``.

    Raises:
        TypeError: when ``x`` is not complex (see :func:`medpipe.mri.to_complex` for the
            trailing-2 layout).
    """
    x = as_complex_tensor(x, "x")
    dims = _dims(x, spatial_dims)
    x = torch.fft.ifftshift(x, dim=dims)
    x = torch.fft.fftn(x, dim=dims, norm="ortho")
    return torch.fft.fftshift(x, dim=dims)


def ifftc(x: torch.Tensor | np.ndarray, spatial_dims: int = 2) -> torch.Tensor:
    """Centred orthonormal inverse FFT (k-space -> image) over the last ``spatial_dims`` axes.

    Args:
        x: complex64 k-space ``(..., H, W)`` or ``(..., D, H, W)``.
        spatial_dims: number of trailing axes to transform (1, 2 or 3).

    Returns:
        complex tensor of the same shape and dtype as ``x``; ``ifftc(fftc(x)) == x`` up to rounding.

    Raises:
        TypeError: when ``x`` is not complex.
    """
    x = as_complex_tensor(x, "x")
    dims = _dims(x, spatial_dims)
    x = torch.fft.ifftshift(x, dim=dims)
    x = torch.fft.ifftn(x, dim=dims, norm="ortho")
    return torch.fft.fftshift(x, dim=dims)
