"""Complex Gaussian noise added to k-space at sampled locations only."""

from __future__ import annotations

import numpy as np
import torch

from medpipe.mri.layout import as_complex_tensor
from medpipe.mri.masks import seed_from_case_id
from medpipe.mri.operators import apply_mask

__all__ = ["add_complex_noise"]


def add_complex_noise(
    kspace: torch.Tensor | np.ndarray,
    mask: torch.Tensor | np.ndarray,
    *,
    sigma: float,
    seed: int | str = 0,
) -> torch.Tensor:
    """Add circular complex Gaussian noise where ``mask != 0``; unsampled zeros stay zero.

    Real and imaginary parts each get independent ``N(0, sigma^2)`` noise (so ``E|n|^2 = 2 sigma^2``),
    drawn from a generator seeded with ``seed`` (an int or a case id), so the result replays exactly.

    Args:
        kspace: complex64 ``(B, C, H, W)`` (any shape).
        mask: real mask broadcastable to ``kspace``.
        sigma: per-component standard deviation, ``>= 0``, in k-space units.
        seed: int or case id string.

    Returns:
        complex tensor of the shape and dtype of ``kspace``.

    Raises:
        ValueError: for a negative ``sigma`` or a mask that does not broadcast.
    """
    if not sigma >= 0:
        raise ValueError(f"`sigma` must be >= 0, got {sigma!r}")
    kspace = as_complex_tensor(kspace, "kspace")
    generator = torch.Generator().manual_seed(seed_from_case_id(seed))
    real_dtype = kspace.real.dtype
    noise = torch.complex(
        torch.randn(kspace.shape, generator=generator, dtype=real_dtype),
        torch.randn(kspace.shape, generator=generator, dtype=real_dtype),
    ).to(kspace.device)
    sampled = apply_mask(torch.ones_like(kspace), mask) != 0
    return kspace + torch.where(sampled, noise * sigma, 0)
