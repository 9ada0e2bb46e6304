"""Per-label volume (mL) and intensity statistics; labels touching the image border are flagged.

TotalSegmentator users report volumes of 0 for organs cut by the field of view. Here a label
that touches the border keeps its measured volume and gets ``touches_border: true`` instead,
so the reader knows the volume is a lower bound.
"""

from __future__ import annotations

import numpy as np

__all__ = ["label_masks", "label_statistics"]


def label_masks(prediction: np.ndarray, channel_names: dict[int, str] | None = None) -> dict[str, np.ndarray]:
    """Split a prediction into named boolean masks.

    Args:
        prediction: integer labels ``(X, Y, Z)``, or one binary channel per label ``(C, X, Y, Z)``.
        channel_names: ``{label value or channel index: name}`` (``metadata.json``'s
            ``outputs.pred.channel_def``); unnamed labels are called ``label_<value>``.

    Returns:
        ``{name: bool (X, Y, Z)}``; label 0 (background) is left out of integer predictions.

    Raises:
        ValueError: when ``prediction`` is not 3-D or 4-D.
    """
    names = channel_names or {}
    prediction = np.asarray(prediction)
    if prediction.ndim == 4 and prediction.shape[0] == 1:
        prediction = prediction[0]
    if prediction.ndim == 3:
        values = [int(v) for v in np.unique(prediction) if v != 0]
        return {names.get(v, f"label_{v}"): prediction == v for v in values}
    if prediction.ndim == 4:
        return {names.get(c, f"channel_{c}"): prediction[c] > 0.5 for c in range(prediction.shape[0])}
    raise ValueError(f"`prediction` must be (X, Y, Z) or (C, X, Y, Z), got shape {prediction.shape}")


def _touches_border(mask: np.ndarray) -> bool:
    for axis in range(mask.ndim):
        if np.take(mask, 0, axis=axis).any() or np.take(mask, -1, axis=axis).any():
            return True
    return False


def label_statistics(
    masks: dict[str, np.ndarray],
    affine: np.ndarray,
    images: dict[str, np.ndarray] | None = None,
) -> list[dict]:
    """Volume, voxel count, border contact and intensity statistics for every label.

    Args:
        masks: ``{name: bool (X, Y, Z)}`` (see :func:`label_masks`).
        affine: 4x4 voxel-to-world matrix in mm; the voxel volume is ``|det(affine[:3, :3])|``.
        images: ``{channel name: float (X, Y, Z)}`` on the same grid, or ``None``.

    Returns:
        One dict per label: ``label, voxels, volume_ml, touches_border`` and, per image channel,
        ``<channel>_mean, _std, _min, _p50, _max`` over the label (``None`` when it is empty).

    Raises:
        ValueError: when a mask or image is not on one shared grid.
    """
    voxel_ml = abs(float(np.linalg.det(np.asarray(affine, dtype=np.float64)[:3, :3]))) / 1000.0
    rows = []
    shape = next(iter(masks.values())).shape if masks else None
    for name, image in (images or {}).items():
        if shape is not None and np.shape(image) != shape:
            raise ValueError(f"`images[{name!r}]` must have the label grid shape {shape}, got {np.shape(image)}")
    for name, mask in masks.items():
        if mask.shape != shape:
            raise ValueError(f"`masks[{name!r}]` must have shape {shape}, got {mask.shape}")
        count = int(mask.sum())
        row = {"label": name, "voxels": count, "volume_ml": round(count * voxel_ml, 6), "touches_border": _touches_border(mask)}
        for channel, image in (images or {}).items():
            values = np.asarray(image)[mask]
            empty = values.size == 0
            row[f"{channel}_mean"] = None if empty else float(values.mean())
            row[f"{channel}_std"] = None if empty else float(values.std())
            row[f"{channel}_min"] = None if empty else float(values.min())
            row[f"{channel}_p50"] = None if empty else float(np.median(values))
            row[f"{channel}_max"] = None if empty else float(values.max())
        rows.append(row)
    return rows
