"""Complex tensor layout: validation of native complex input and explicit interop converters.

medpipe keeps k-space, coil images and sensitivity maps as native ``complex64`` tensors. A trailing
dimension of size 2 (real, imaginary), as used by fastMRI, DIRECT and MONAI's ``fft_utils_t``, is
accepted only at interop edges and only through :func:`to_complex` / :func:`from_complex`.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["as_complex_tensor", "check_finite", "from_complex", "to_complex"]


def _describe(x: object) -> str:
    if isinstance(x, (torch.Tensor, np.ndarray)):
        return f"dtype {x.dtype} with shape {tuple(x.shape)}"
    return f"{type(x).__name__}"


def as_complex_tensor(x: torch.Tensor | np.ndarray, name: str = "x") -> torch.Tensor:
    """Return ``x`` as a complex torch tensor, converting a complex NumPy array without copying.

    Args:
        x: complex tensor or complex NumPy array of any shape.
        name: argument name used in error messages.

    Returns:
        The same data as a complex ``torch.Tensor`` (complex64 or complex128 as given).

    Raises:
        TypeError: when ``x`` is not complex. A real array whose last axis has size 2 gets a hint to
            call :func:`to_complex` explicitly.
    """
    if isinstance(x, np.ndarray):
        if not np.iscomplexobj(x):
            raise TypeError(_not_complex_message(x, name))
        return torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a complex torch.Tensor or NumPy array, got {_describe(x)}")
    if not x.is_complex():
        raise TypeError(_not_complex_message(x, name))
    return x


def _not_complex_message(x: torch.Tensor | np.ndarray, name: str) -> str:
    message = f"`{name}` must be a complex tensor (complex64), got {_describe(x)}"
    if x.ndim > 0 and x.shape[-1] == 2:
        message += (
            "; it looks like a trailing (real, imaginary) layout of size 2, which medpipe does not read "
            "implicitly: convert it with medpipe.mri.to_complex(x) first"
        )
    return message


def check_finite(x: torch.Tensor, name: str = "kspace") -> torch.Tensor:
    """Raise when ``x`` holds NaN or infinite values; return ``x`` unchanged otherwise.

    This check synchronises with the device, so medpipe calls it at data edges (transforms, baselines,
    sensitivity estimation), not inside the FFTs that networks call many times per step.

    Raises:
        ValueError: naming how many entries are not finite.
    """
    finite = torch.isfinite(torch.view_as_real(x) if x.is_complex() else x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(
            f"`{name}` must be finite, got {bad} NaN or infinite value(s) in shape {tuple(x.shape)}; "
            "check the file it was read from"
        )
    return x


def to_complex(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Convert a real ``(..., 2)`` (real, imaginary) layout to a native complex tensor.

    Args:
        x: float32/float64 tensor or array of shape ``(..., 2)``.

    Returns:
        complex64/complex128 tensor of shape ``(...)`` (a view when ``x`` is contiguous).

    Raises:
        TypeError: when ``x`` is already complex or not floating point.
        ValueError: when the last axis does not have size 2.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch.Tensor or NumPy array, got {_describe(x)}")
    if x.is_complex() or not x.is_floating_point():
        raise TypeError(f"`x` must be a real floating tensor with a trailing axis of size 2, got {_describe(x)}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"`x` must have a last axis of size 2 (real, imaginary), got shape {tuple(x.shape)}")
    return torch.view_as_complex(x.contiguous())


def from_complex(x: torch.Tensor) -> torch.Tensor:
    """Convert a native complex tensor to the real ``(..., 2)`` interop layout.

    Args:
        x: complex tensor of shape ``(...)``.

    Returns:
        Real tensor of shape ``(..., 2)`` holding (real, imaginary).

    Raises:
        TypeError: when ``x`` is not complex.
    """
    return torch.view_as_real(as_complex_tensor(x, "x"))
