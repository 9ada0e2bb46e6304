"""Helpers shared by the MRI reconstruction networks: input checks and complex <-> real channels.

Networks see real channels: the real parts of all complex channels, then their imaginary parts
(medpipe's convention, see DESIGN.md).
"""

from __future__ import annotations

import torch

__all__ = ["check_kspace_inputs", "complex_to_channels", "channels_to_complex"]


def complex_to_channels(x: torch.Tensor) -> torch.Tensor:
    """Complex (B, C, H, W) or (B, H, W) to real (B, 2C, H, W) or (B, 2, H, W): real parts, then imaginary."""
    if x.ndim == 3:
        x = x.unsqueeze(1)
    return torch.cat([x.real, x.imag], dim=1)


def channels_to_complex(x: torch.Tensor) -> torch.Tensor:
    """Real (B, 2C, H, W) (real parts, then imaginary) to complex (B, C, H, W)."""
    real, imag = x.chunk(2, dim=1)
    return torch.complex(real, imag)


def check_kspace_inputs(masked_kspace: torch.Tensor, mask: torch.Tensor, sensitivity_maps: torch.Tensor) -> None:
    """Raise a worded error unless the physics inputs of a reconstruction network fit together.

    Args:
        masked_kspace: complex64 (B, C, H, W), zero where not sampled.
        mask: bool or float, broadcastable to (B, C, H, W) (e.g. (B, 1, 1, W) or (B, 1, H, W)).
        sensitivity_maps: complex64 (B, C, H, W).

    Raises:
        TypeError: when the k-space or the sensitivity maps are not complex tensors.
        ValueError: when a shape does not fit, or the k-space is not finite.
    """
    for name, value in (("masked_kspace", masked_kspace), ("sensitivity_maps", sensitivity_maps)):
        if not isinstance(value, torch.Tensor) or not value.is_complex():
            got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
            hint = " (convert a trailing real/imaginary axis of size 2 with torch.view_as_complex)"
            raise TypeError(f"`{name}` must be a complex tensor (B, C, H, W), got {got}{hint}")
        if value.ndim != 4:
            raise ValueError(f"`{name}` must have shape (B, C, H, W), got {tuple(value.shape)}")
    if sensitivity_maps.shape != masked_kspace.shape:
        raise ValueError(
            f"`sensitivity_maps` must have the k-space's shape {tuple(masked_kspace.shape)}, "
            f"got {tuple(sensitivity_maps.shape)}"
        )
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"`mask` must be a torch.Tensor, got {type(mask).__name__}")
    try:
        torch.broadcast_shapes(mask.shape, masked_kspace.shape)
    except RuntimeError:
        raise ValueError(
            f"`mask` must broadcast to the k-space's shape {tuple(masked_kspace.shape)}, got {tuple(mask.shape)}"
        ) from None
    if not torch.isfinite(torch.view_as_real(masked_kspace)).all():
        raise ValueError("`masked_kspace` must be finite, got NaN or infinite values")
