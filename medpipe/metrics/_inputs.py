"""Checks and conversions shared by every segmentation and topology metric.

Every public metric accepts NumPy arrays or torch tensors, 2D ``(H, W)`` or 3D ``(H, W, D)``,
binary (values 0/1 or bool) or multi-label with ``labels=``. This module turns those inputs into
boolean NumPy masks and raises ``ValueError``/``TypeError`` that name the argument and its value.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = [
    "as_numpy", "check_connectivity", "check_labels", "check_pair", "check_spacing", "per_label",
    "per_label_single", "to_mask",
]

CONNECTIVITY_CHOICES = (1, "full")


def as_numpy(array: Any, name: str) -> np.ndarray:
    """Return ``array`` (NumPy array or torch tensor) as a NumPy array without copying if possible."""
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    if isinstance(array, np.ndarray):
        return array
    raise TypeError(f"`{name}` must be a numpy.ndarray or torch.Tensor, got {type(array).__name__}")


def check_connectivity(connectivity: Any, ndim: int) -> int:
    """Map ``connectivity`` (``1`` or ``"full"``) to scipy/skimage's number of orthogonal hops.

    Returns:
        1 for face neighbours (4 in 2D, 6 in 3D), ``ndim`` for full neighbourhoods (8 or 26).
    """
    if isinstance(connectivity, str) and connectivity.strip() == "1":
        connectivity = 1
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITY_CHOICES:
        raise ValueError(f"`connectivity` must be 1 (face neighbours) or 'full' (8/26 neighbours), got {connectivity!r}")
    return 1 if connectivity == 1 else ndim


def check_spacing(spacing: Any, ndim: int) -> np.ndarray:
    """Return ``spacing`` as a float64 vector of length ``ndim`` (``None`` means unit spacing)."""
    if spacing is None:
        return np.ones(ndim)
    values = np.atleast_1d(np.asarray(spacing, dtype=np.float64))
    if values.size == 1:
        values = np.repeat(values, ndim)
    if values.ndim != 1 or values.size != ndim or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"`spacing` must be one positive number or {ndim} positive numbers, got {spacing!r}")
    return values


def _check_values(array: np.ndarray, name: str) -> None:
    if array.ndim not in (2, 3):
        raise ValueError(f"`{name}` must be 2D (H, W) or 3D (H, W, D), got shape {tuple(array.shape)}")
    if array.dtype.kind in "fc" and np.isnan(array).any():
        raise ValueError(f"`{name}` must not contain NaN, got {int(np.isnan(array).sum())} NaN voxels")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold bool, integer or float values, got dtype {array.dtype}")


def to_mask(array: Any, name: str) -> np.ndarray:
    """Convert a binary array to a boolean mask, refusing anything but 0/1 values."""
    array = as_numpy(array, name)
    _check_values(array, name)
    if array.dtype == bool:
        return array
    mask = array == 1
    if not (mask | (array == 0)).all():
        values = np.unique(array)
        shown = values[:8].tolist()
        raise ValueError(
            f"`{name}` must be binary (values 0 and 1) when `labels` is None, got values {shown}"
            f"{' ...' if values.size > 8 else ''}; pass labels=[...] for a label map"
        )
    return mask


def check_pair(pred: Any, gt: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``pred`` and ``gt`` to NumPy and check they share one 2D or 3D shape."""
    pred_array, gt_array = as_numpy(pred, "pred"), as_numpy(gt, "gt")
    if pred_array.shape != gt_array.shape:
        raise ValueError(
            f"`pred` and `gt` must have the same shape, got {tuple(pred_array.shape)} and {tuple(gt_array.shape)}"
        )
    _check_values(pred_array, "pred")
    _check_values(gt_array, "gt")
    return pred_array, gt_array


def check_labels(labels: Any) -> list[int]:
    """Return ``labels`` (an int or a non-empty sequence of ints) as a list of ints."""
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        return [int(labels)]
    if isinstance(labels, Sequence) and not isinstance(labels, str) and len(labels) > 0:
        if all(isinstance(label, (int, np.integer)) and not isinstance(label, bool) for label in labels):
            return [int(label) for label in labels]
    raise ValueError(f"`labels` must be an integer or a non-empty sequence of integers, got {labels!r}")


def per_label(
    metric: Callable[[np.ndarray, np.ndarray], Any], pred: Any, gt: Any, labels: Any = None
) -> Any:
    """Apply a binary ``metric(pred_mask, gt_mask)`` once, or once per label.

    Returns:
        The metric's value for binary input, or ``{label: value}`` when ``labels`` is given.
    """
    pred_array, gt_array = check_pair(pred, gt)
    if labels is None:
        return metric(to_mask(pred_array, "pred"), to_mask(gt_array, "gt"))
    return {label: metric(pred_array == label, gt_array == label) for label in check_labels(labels)}


def per_label_single(metric: Callable[[np.ndarray], Any], mask: Any, labels: Any = None, name: str = "mask") -> Any:
    """Apply a one-input ``metric(mask)`` once, or once per label (``{label: value}``)."""
    array = as_numpy(mask, name)
    _check_values(array, name)
    if labels is None:
        return metric(to_mask(array, name))
    return {label: metric(array == label) for label in check_labels(labels)}
