"""Shared building blocks of the phantoms: grids, soft masks, smooth noise, argument checks.

Every phantom is evaluated on physical coordinates in millimetres, relative to the centre of
the field of view. A coordinate set is a tuple of three arrays that broadcast together:
either the three axis vectors of a grid (shapes ``(X, 1, 1)``, ``(1, Y, 1)``, ``(1, 1, Z)``),
which keeps most arithmetic on small arrays, or three full arrays of arbitrary points (used to
evaluate a phantom at warped positions). Nothing here draws from a global random state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

Coordinates = tuple[np.ndarray, np.ndarray, np.ndarray]


def check_shape(shape: Sequence[int], *, name: str = "shape", ndim: int = 3, minimum: int = 1) -> tuple[int, ...]:
    """Validate a spatial shape: ``ndim`` integers, each at least ``minimum``."""
    try:
        values = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a sequence of {ndim} integers, got {shape!r}") from None
    if len(values) != ndim or any(v != s for v, s in zip(values, shape)) or min(values) < minimum:
        raise ValueError(f"`{name}` must be {ndim} integers >= {minimum}, got {tuple(shape)!r}")
    return values


def check_spacing(spacing: Sequence[float], *, ndim: int = 3) -> tuple[float, ...]:
    """Validate voxel spacing in mm: ``ndim`` finite positive numbers."""
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise TypeError(f"`spacing` must be a sequence of {ndim} numbers, got {spacing!r}") from None
    if len(values) != ndim or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"`spacing` must be {ndim} finite positive numbers (mm), got {tuple(spacing)!r}")
    return values


def check_seed(seed: int) -> int:
    """Seeds are non-negative integers (``bool`` is refused)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be a non-negative int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"`seed` must be a non-negative int, got {seed}")
    return int(seed)


def centred_affine(shape: Sequence[int], spacing: Sequence[float]) -> np.ndarray:
    """RAS affine (float64 (4, 4)) of an axis-aligned grid whose centre lies at world (0, 0, 0)."""
    affine = np.diag([*map(float, spacing), 1.0])
    affine[:3, 3] = -(np.asarray(shape, dtype=np.float64) - 1.0) / 2.0 * np.asarray(spacing, dtype=np.float64)
    return affine


def grid_coordinates(shape: Sequence[int], spacing: Sequence[float]) -> Coordinates:
    """Millimetre coordinates of voxel centres of a centred grid, as broadcastable axis vectors.

    Returns:
        Three float32 arrays of shapes ``(X, 1, 1)``, ``(1, Y, 1)``, ``(1, 1, Z)`` whose values are the
        RAS positions (mm) of :func:`centred_affine`.
    """
    axes = []
    for axis, (n, step) in enumerate(zip(shape, spacing)):
        values = ((np.arange(n, dtype=np.float64) - (n - 1) / 2.0) * step).astype(np.float32)
        view = [1] * len(shape)
        view[axis] = n
        axes.append(values.reshape(view))
    return tuple(axes)  # type: ignore[return-value]


def is_grid(coords: Coordinates) -> bool:
    """Whether ``coords`` are axis vectors of a grid (each varies along its own axis only)."""
    return all(c.ndim == len(coords) and c.size == c.shape[i] for i, c in enumerate(coords))


def ramp(signed_distance: np.ndarray, width: float) -> np.ndarray:
    """Soft inside fraction: 1 well inside (distance > width/2), 0 well outside, linear between.

    A linear ramp of one voxel width imitates partial-volume blurring without a filter and
    without transcendental functions, so results are bitwise stable across CPUs.
    """
    return np.clip(signed_distance * np.float32(1.0 / width) + np.float32(0.5), 0.0, 1.0).astype(np.float32, copy=False)


def smoothstep(t: np.ndarray) -> np.ndarray:
    """C1 step from 0 (t <= 0) to 1 (t >= 1): ``3 t^2 - 2 t^3``; float64 in, float64 out."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class LatticeNoise:
    """Smooth random field: Gaussian values on a coarse lattice, trilinearly interpolated.

    The lattice spans ``[-half_extent, +half_extent]`` (mm) on each axis, so the same field can be
    sampled on a grid (fast, separable) or at arbitrary points (``scipy.ndimage.map_coordinates``,
    order 1) with the same values up to float rounding.

    Args:
        rng: generator the lattice values are drawn from (consumes ``prod(lattice_shape)`` normals).
        lattice_shape: points per axis, each >= 2; more points give finer structure.
        half_extent: half the field of view (mm) per axis.
    """

    def __init__(self, rng: np.random.Generator, lattice_shape: Sequence[int], half_extent: Sequence[float]):
        self.values = rng.standard_normal(tuple(lattice_shape)).astype(np.float32)
        self.half_extent = np.asarray(half_extent, dtype=np.float64)

    def _index(self, position: np.ndarray, axis: int) -> np.ndarray:
        n = self.values.shape[axis]
        index = (np.asarray(position, dtype=np.float64) / self.half_extent[axis] + 1.0) * 0.5 * (n - 1)
        return np.clip(index, 0.0, n - 1.0)

    def sample(self, coords: Coordinates) -> np.ndarray:
        """Field values (float32) at ``coords`` (mm), shaped like ``np.broadcast(*coords)``."""
        if is_grid(coords):
            out = self.values
            for axis, c in enumerate(coords):
                index = self._index(c.reshape(-1), axis)
                low = np.minimum(np.floor(index).astype(np.intp), self.values.shape[axis] - 2)
                weight = (index - low).astype(np.float32)
                view = [1] * out.ndim
                view[axis] = weight.size
                weight = weight.reshape(view)
                out = np.take(out, low, axis=axis) * (1.0 - weight) + np.take(out, low + 1, axis=axis) * weight
            return out.astype(np.float32, copy=False)
        full = np.broadcast_arrays(*coords)
        index = np.stack([self._index(c, axis) for axis, c in enumerate(full)])
        return ndimage.map_coordinates(self.values, index, order=1, mode="nearest").astype(np.float32)
