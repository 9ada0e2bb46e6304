"""Reconstruction quality as the fastMRI challenge reports it: SSIM, PSNR and NMSE on magnitudes.

Conventions follow ``fastmri/evaluate.py`` (Zbontar et al., arXiv:1811.08839):

- all three compare a magnitude reconstruction with the reference over a whole volume (leading axes
  are slices);
- ``data_range`` defaults to the maximum of the *target* over the volume (not ``max - min``);
- SSIM uses a 7 x 7 uniform window, ``K1 = 0.01``, ``K2 = 0.03`` and the sample covariance, as
  ``skimage.metrics.structural_similarity`` with its defaults; it is the mean over window positions
  fully inside each slice, averaged over slices (``tests/metrics/test_reconstruction.py`` checks it
  against scikit-image);
- ``nmse = ||target - pred||^2 / ||target||^2`` and ``psnr = 10 log10(data_range^2 / mse)``.

The functions take torch tensors or NumPy arrays and compute in float64.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["nmse", "psnr", "reconstruction_metrics", "ssim"]


def _pair(pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = []
    for name, value in (("pred", pred), ("target", target)):
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"`{name}` must be a torch.Tensor or NumPy array, got {type(value).__name__}")
        if value.is_complex():
            raise TypeError(f"`{name}` must be a real magnitude image, got dtype {value.dtype}; take .abs() first")
        tensors.append(value.detach().to(dtype=torch.float64))
    if tensors[0].shape != tensors[1].shape:
        raise ValueError(
            f"`pred` and `target` must have the same shape, got {tuple(tensors[0].shape)} and {tuple(tensors[1].shape)}"
        )
    return tensors[0], tensors[1]


def _data_range(target: torch.Tensor, data_range: float | None) -> float:
    value = float(target.max()) if data_range is None else float(data_range)
    if not value > 0:
        raise ValueError(f"`data_range` must be > 0, got {value!r} (the target maximum when not given)")
    return value


def ssim(
    pred,
    target,
    *,
    data_range: float | None = None,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean structural similarity of magnitude images, fastMRI convention.

    Args:
        pred: real ``(H, W)`` or ``(..., H, W)`` (leading axes are slices of one volume).
        target: the reference, same shape.
        data_range: dynamic range; default ``target.max()`` over the volume.
        win_size: odd side of the uniform window, at most ``min(H, W)``.
        k1: SSIM constant ``C1 = (k1 * data_range)^2``.
        k2: SSIM constant ``C2 = (k2 * data_range)^2``.

    Returns:
        SSIM in ``[-1, 1]`` (1 for identical images).
    """
    pred, target = _pair(pred, target)
    if pred.ndim < 2:
        raise ValueError(f"`pred` must have at least 2 axes (H, W), got shape {tuple(pred.shape)}")
    if win_size % 2 != 1 or win_size > min(pred.shape[-2:]):
        raise ValueError(f"`win_size` must be odd and at most min(H, W) = {min(pred.shape[-2:])}, got {win_size}")
    value_range = _data_range(target, data_range)
    x = pred.reshape(-1, 1, *pred.shape[-2:])
    y = target.reshape(-1, 1, *target.shape[-2:])
    window = torch.full((1, 1, win_size, win_size), 1.0 / win_size**2, dtype=torch.float64)
    stacked = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    means = F.conv2d(stacked.reshape(-1, 1, *x.shape[-2:]), window).reshape(x.shape[0], 5, *[s - win_size + 1 for s in x.shape[-2:]])
    mean_x, mean_y, mean_xx, mean_yy, mean_xy = means.unbind(1)
    unbiased = win_size**2 / (win_size**2 - 1)
    var_x = unbiased * (mean_xx - mean_x**2)
    var_y = unbiased * (mean_yy - mean_y**2)
    cov_xy = unbiased * (mean_xy - mean_x * mean_y)
    c1, c2 = (k1 * value_range) ** 2, (k2 * value_range) ** 2
    numerator = (2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)
    denominator = (mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2)
    return float((numerator / denominator).mean())


def psnr(pred, target, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / mse)`` over the whole volume.

    Args:
        pred: real ``(..., H, W)``.
        target: the reference, same shape.
        data_range: default ``target.max()``.

    Returns:
        PSNR in dB (``inf`` for identical images).
    """
    pred, target = _pair(pred, target)
    value_range = _data_range(target, data_range)
    mse = float(((pred - target) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * float(np.log10(value_range**2 / mse))


def nmse(pred, target) -> float:
    """Normalised mean squared error ``||target - pred||^2 / ||target||^2`` over the whole volume."""
    pred, target = _pair(pred, target)
    energy = float((target**2).sum())
    if energy == 0:
        raise ValueError("`target` must not be all zeros for NMSE")
    return float(((target - pred) ** 2).sum()) / energy


def reconstruction_metrics(pred, target, *, data_range: float | None = None) -> dict[str, float]:
    """``{"ssim": ..., "psnr": ..., "nmse": ...}`` for one volume, fastMRI conventions."""
    return {
        "ssim": ssim(pred, target, data_range=data_range),
        "psnr": psnr(pred, target, data_range=data_range),
        "nmse": nmse(pred, target),
    }
