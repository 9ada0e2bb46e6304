"""SENSE forward and adjoint operators and the data-consistency (log-likelihood) gradient.

With sensitivities ``S`` ``(B, C, H, W)``, the centred orthonormal FFT ``F`` and a sampling mask
``M``, the SENSE encoding operator is ``A x = M F (S x)`` and its adjoint
``A^H y = sum_c conj(S_c) F^-1 (M y_c)`` (``M`` is real, so ``M^H = M``).
"""

from __future__ import annotations

import numpy as np
import torch

from medpipe.mri.coils import sense_expand, sense_reduce
from medpipe.mri.fft import fftc, ifftc
from medpipe.mri.layout import as_complex_tensor

__all__ = ["apply_mask", "log_likelihood_gradient", "sense_adjoint", "sense_forward"]


def _as_mask(mask: torch.Tensor | np.ndarray, kspace: torch.Tensor) -> torch.Tensor:
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"`mask` must be a torch.Tensor or NumPy array, got {type(mask).__name__}")
    if mask.is_complex():
        raise TypeError(f"`mask` must be real (bool or float), got dtype {mask.dtype}")
    try:
        shape = torch.broadcast_shapes(tuple(mask.shape), tuple(kspace.shape))
    except RuntimeError:
        shape = None
    if shape != tuple(kspace.shape):
        raise ValueError(
            f"`mask` must broadcast against k-space of shape {tuple(kspace.shape)}, got mask shape "
            f"{tuple(mask.shape)}; e.g. (W,), (H, W) or (B, 1, H, W)"
        )
    return mask.to(device=kspace.device, dtype=kspace.real.dtype)


def apply_mask(kspace: torch.Tensor, mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Multiply k-space by a real mask that broadcasts against it.

    Args:
        kspace: complex64 ``(B, C, H, W)`` (any shape).
        mask: bool or float mask broadcastable to ``kspace``: ``(W,)``, ``(H, W)``, ``(B, 1, H, W)``...

    Returns:
        complex64 masked k-space, shape of ``kspace``.

    Raises:
        ValueError: when ``mask`` does not broadcast; the message shows both shapes.
    """
    kspace = as_complex_tensor(kspace, "kspace")
    return kspace * _as_mask(mask, kspace)


def sense_forward(image: torch.Tensor, sens: torch.Tensor, mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """SENSE encoding ``A x = M F (S x)``.

    Args:
        image: complex64 ``(B, H, W)``.
        sens: complex64 ``(B, C, H, W)``.
        mask: real mask broadcastable to ``(B, C, H, W)``.

    Returns:
        complex64 undersampled multi-coil k-space ``(B, C, H, W)``.
    """
    return apply_mask(fftc(sense_expand(image, sens)), mask)


def sense_adjoint(kspace: torch.Tensor, sens: torch.Tensor, mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Adjoint SENSE operator ``A^H y = sum_c conj(S_c) F^-1 (M y_c)``.

    Args:
        kspace: complex64 ``(B, C, H, W)``.
        sens: complex64 ``(B, C, H, W)``.
        mask: real mask broadcastable to ``(B, C, H, W)``.

    Returns:
        complex64 image ``(B, H, W)``; with fully sampled data and ``sum_c |S_c|^2 = 1`` this is the
        SENSE-combined image.
    """
    return sense_reduce(ifftc(apply_mask(kspace, mask)), sens)


def log_likelihood_gradient(
    image: torch.Tensor,
    kspace: torch.Tensor,
    sens: torch.Tensor,
    mask: torch.Tensor | np.ndarray,
    sigma: float = 1.0,
) -> torch.Tensor:
    """Gradient of the Gaussian negative log-likelihood ``||A x - y||^2 / (2 sigma^2)``.

    ``grad = sum_c conj(S_c) F^-1 (M F (S_c x) - M y_c) / sigma^2``, the quantity the RIM receives
    at each step (Lønning et al., "Recurrent inference machines for reconstructing heterogeneous MRI
    data", MedIA 2019; Karkalousos et al. 2022). It is the gradient with respect to the real
    and imaginary parts jointly, ``df/dRe(x) + i df/dIm(x)``, which is what ``torch.autograd`` returns
    for a complex leaf. ``y`` is masked too, so fully sampled k-space can be passed.

    Args:
        image: complex64 current estimate ``(B, H, W)``.
        kspace: complex64 measured k-space ``(B, C, H, W)``.
        sens: complex64 ``(B, C, H, W)``.
        mask: real mask broadcastable to ``(B, C, H, W)``.
        sigma: noise standard deviation; the gradient is divided by ``sigma**2``.

    Returns:
        complex64 ``(B, H, W)``.
    """
    if not sigma > 0:
        raise ValueError(f"`sigma` must be > 0, got {sigma!r}")
    kspace = as_complex_tensor(kspace, "kspace")
    residual = sense_forward(image, sens, mask) - apply_mask(kspace, mask)
    return sense_reduce(ifftc(residual), sens) / sigma**2
