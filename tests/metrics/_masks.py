"""Seeded random masks shared by the metric tests: smooth blobs and i.i.d. noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def blobs(shape, seed, fraction=0.3, sigma=1.5) -> np.ndarray:
    """Bool mask of smooth random blobs covering about ``fraction`` of the volume."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), sigma)
    return field > np.quantile(field, 1 - fraction)


def noise(shape, seed, fraction=0.5) -> np.ndarray:
    """Bool mask of i.i.d. voxels, each foreground with probability ``fraction``."""
    return np.random.default_rng(seed).random(shape) < fraction


def ring2d() -> np.ndarray:
    """A 7x7 square ring (one loop) inside a 9x10 image: Betti numbers (1, 1)."""
    mask = np.zeros((9, 10), dtype=bool)
    mask[1:8, 2:9] = True
    mask[3:6, 4:7] = False
    return mask
