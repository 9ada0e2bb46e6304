"""Abdominal CT phantom (portal-venous-like contrast) with eight BTCV / Synapse organ labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medpipe.synthetic._shapes import (
    LatticeNoise,
    centred_affine,
    check_seed,
    check_shape,
    check_spacing,
    grid_coordinates,
    ramp,
)

__all__ = ["BTCV_LABELS", "CTPhantom", "abdomen_ct_phantom"]

#: BTCV label ids of the eight Synapse organs (the other BTCV ids are not drawn).
BTCV_LABELS: dict[str, int] = {
    "spleen": 1,
    "right_kidney": 2,
    "left_kidney": 3,
    "gallbladder": 4,
    "liver": 6,
    "stomach": 7,
    "aorta": 8,
    "pancreas": 11,
}

#: White-noise standard deviation (HU) of the image.
NOISE_STD_HU = 10.0

# Structures in normalised coordinates u = position / half field of view (RAS: +x is the patient's
# left, +y anterior, +z superior), painted in this order (later ones win):
# (label or 0, centre, semi-axes, HU). Ellipsoids; semi-axis None along z means a cylinder.
_STRUCTURES: tuple[tuple[int, tuple[float, float, float], tuple[float, float, float | None], float], ...] = (
    (0, (-0.45, -0.10, 1.15), (0.34, 0.45, 0.45), -850.0),  # right lung base
    (0, (0.45, -0.10, 1.15), (0.34, 0.45, 0.45), -850.0),  # left lung base
    (0, (0.15, -0.60, 0.0), (0.10, 0.10, None), 50.0),  # left paraspinal muscle
    (0, (-0.15, -0.60, 0.0), (0.10, 0.10, None), 50.0),  # right paraspinal muscle
    (6, (-0.42, 0.00, 0.35), (0.42, 0.50, 0.45), 60.0),  # liver, patient right (low x)
    (0, (-0.12, -0.30, 0.0), (0.06, 0.06, None), 120.0),  # inferior vena cava
    (1, (0.55, -0.20, 0.42), (0.14, 0.22, 0.25), 50.0),  # spleen, left posterior superior
    (2, (-0.36, -0.36, -0.12), (0.12, 0.11, 0.22), 150.0),  # right kidney (a little lower)
    (3, (0.36, -0.36, -0.02), (0.12, 0.11, 0.22), 150.0),  # left kidney
    (7, (0.32, 0.30, 0.38), (0.22, 0.20, 0.22), 30.0),  # stomach, left anterior superior
    (4, (-0.28, 0.38, 0.00), (0.09, 0.13, 0.15), 15.0),  # gallbladder, under the liver
    (8, (0.06, -0.36, 0.0), (0.055, 0.055, None), 200.0),  # aorta, left of midline, before the spine
    (0, (0.0, -0.55, 0.0), (0.13, 0.11, None), 700.0),  # vertebral body (cortex)
    (0, (0.0, -0.55, 0.0), (0.09, 0.075, None), 250.0),  # vertebral body (cancellous)
    (0, (0.0, -0.70, 0.0), (0.035, 0.06, None), 700.0),  # spinous process
)
# Pancreas: a tube through head (near the duodenum, right of midline), body and tail (at the spleen).
_PANCREAS = ((-0.12, -0.05, -0.02), (0.10, 0.00, 0.06), (0.38, -0.12, 0.14))
_PANCREAS_RADIUS, _PANCREAS_HU = 0.065, 45.0
_BODY_AXES = (0.92, 0.78)


@dataclass(frozen=True)
class CTPhantom:
    """An abdominal CT volume with organ labels.

    Attributes:
        image: float32 (X, Y, Z) in Hounsfield units (air -1000, fat ~-100, organs 15-200, bone 700).
        label: uint8 (X, Y, Z) with BTCV ids {0, 1, 2, 3, 4, 6, 7, 8, 11} (:data:`BTCV_LABELS`).
        body_mask: bool (X, Y, Z), inside the skin.
        affine: float64 (4, 4) RAS; the volume centre is at world (0, 0, 0).
        seed: the seed it was generated from.
    """

    image: np.ndarray
    label: np.ndarray
    body_mask: np.ndarray
    affine: np.ndarray
    seed: int


def _segment_distance(u, start, end) -> np.ndarray:
    """Distance (normalised units) from points ``u`` to the segment ``start``-``end``."""
    start, end = np.asarray(start, dtype=np.float32), np.asarray(end, dtype=np.float32)
    direction = end - start
    t = sum((c - s) * d for c, s, d in zip(u, start, direction)) / np.float32(direction @ direction)
    t = np.clip(t, 0.0, 1.0)
    return np.sqrt(sum((c - s - t * d) ** 2 for c, s, d in zip(u, start, direction)))


def abdomen_ct_phantom(
    shape: Sequence[int] = (96, 80, 64),
    spacing: Sequence[float] = (1.5, 1.5, 2.5),
    *,
    seed: int = 0,
) -> CTPhantom:
    """Deterministic abdominal CT with liver, spleen, kidneys, gallbladder, stomach, aorta, pancreas.

    Anatomy is laid out relative to the field of view ``shape * spacing`` in RAS voxel order, so the
    patient's right (liver, right kidney, label 2) lies at low x and the spleen and left kidney
    (label 3) at high x; the spine is posterior (low y) and the lung bases superior (high z).
    Organ outlines are perturbed by a smooth random field and the image carries smooth texture
    and white noise of :data:`NOISE_STD_HU`; all randomness comes from ``default_rng(seed)``.

    Args:
        shape: grid size (X, Y, Z), each >= 24 so that every organ covers voxels.
        spacing: voxel size (mm).
        seed: non-negative int.

    Returns:
        A :class:`CTPhantom`.
    """
    shape = check_shape(shape, minimum=24)
    spacing = check_spacing(spacing)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    half = np.asarray(shape, dtype=np.float64) * np.asarray(spacing) / 2.0
    outline = LatticeNoise(rng, (10, 10, 8), half)
    texture = LatticeNoise(rng, (24, 20, 16), half)
    coords = grid_coordinates(shape, spacing)
    u = tuple(c / np.float32(h) for c, h in zip(coords, half))
    width = float(min(np.asarray(spacing) / half))
    wobble = 1.0 + np.float32(0.06) * outline.sample(coords)

    body_radius = np.sqrt((u[0] / np.float32(_BODY_AXES[0])) ** 2 + (u[1] / np.float32(_BODY_AXES[1])) ** 2)
    body_radius = body_radius * (1.0 + np.float32(0.02) * outline.sample(coords))
    body_mask = body_radius <= 1.0
    image = np.full(body_mask.shape, -1000.0, dtype=np.float32)
    label = np.zeros(body_mask.shape, dtype=np.uint8)

    def paint(distance, hu, value, smallest_axis, relabel=True):
        fraction = ramp((1.0 - distance) * np.float32(smallest_axis), width)
        image[...] = image * (1.0 - fraction) + np.float32(hu) * fraction
        if relabel:  # unlabelled structures (vessels, bone) clear the organs they cover
            label[distance < 1.0] = value

    paint(body_radius, -100.0, 0, min(_BODY_AXES), relabel=False)  # subcutaneous fat
    paint(body_radius / np.float32(0.88), 45.0, 0, 0.88 * min(_BODY_AXES), relabel=False)  # abdominal wall
    # visceral fat mixed with bowel loops
    paint(body_radius / np.float32(0.84), -40.0, 0, 0.84 * min(_BODY_AXES), relabel=False)
    image += np.float32(35.0) * texture.sample(coords) * (body_radius < 0.84)
    for value, centre, axes, hu in _STRUCTURES:
        squared = sum(((c - np.float32(m)) / np.float32(a)) ** 2 for c, m, a in zip(u, centre, axes) if a is not None)
        distance = np.sqrt(squared) * wobble
        paint(distance, hu, value, min(a for a in axes if a is not None))
        if value == 2 or value == 3:  # renal sinus: unenhanced fat and urine inside the cortex
            paint(distance / np.float32(0.45), 10.0, 0, 0.45 * min(axes), relabel=False)
    pancreas = np.minimum(
        _segment_distance(u, _PANCREAS[0], _PANCREAS[1]), _segment_distance(u, _PANCREAS[1], _PANCREAS[2])
    )
    paint(pancreas * wobble / np.float32(_PANCREAS_RADIUS), _PANCREAS_HU, BTCV_LABELS["pancreas"], _PANCREAS_RADIUS)
    label[~body_mask] = 0
    image[~body_mask] = -1000.0
    image += np.float32(8.0) * texture.sample(coords) * body_mask
    image += rng.standard_normal(shape, dtype=np.float32) * np.float32(NOISE_STD_HU)
    return CTPhantom(image=image, label=label, body_mask=body_mask, affine=centred_affine(shape, spacing), seed=seed)
