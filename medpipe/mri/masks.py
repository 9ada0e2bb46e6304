"""Undersampling masks, each reproducible from a case id.

Every mask function takes ``seed``: an int, or a string case id hashed with SHA-256 (never Python's
salted ``hash()``), so the same case gets the same mask in every process and run, as fastMRI does with
file names. Masks are float32 tensors of shape ``(H, W)`` (1 = sampled) that broadcast against
k-space ``(B, C, H, W)``; 1D (column) masks are constant along ``H``, the readout axis.

- :func:`random_mask` and :func:`equispaced_mask`: fastMRI's ``RandomMaskFunc`` and
  ``EquispacedMaskFractionFunc`` (Zbontar et al., arXiv:1811.08839): a fully sampled centre of
  ``round(W * center_fraction)`` columns plus random or equally spaced columns, chosen so that the
  expected acceleration is ``acceleration``.
- :func:`poisson_disc_mask`: variable-density Poisson disc in the phase-encode plane, the pattern of
  compressed-sensing 3D acquisitions (Vasanawala et al., Radiology 256:607, 2010), with a fully
  sampled calibration rectangle, corners cropped.
- :func:`gaussian_mask`: 2D variable-density random sampling from a Gaussian density.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import numpy as np
import torch
from monai.utils import look_up_option

__all__ = [
    "MASK_FUNCTIONS",
    "equispaced_mask",
    "gaussian_mask",
    "make_mask",
    "mask_acceleration",
    "poisson_disc_mask",
    "random_mask",
    "seed_from_case_id",
]


def seed_from_case_id(case_id: str | int) -> int:
    """A 32-bit seed from a case id: an int is used as is, a string through SHA-256."""
    if isinstance(case_id, (int, np.integer)) and not isinstance(case_id, bool):
        if case_id < 0:
            raise ValueError(f"`seed` must be a non-negative int or a case id string, got {case_id}")
        return int(case_id) % 2**32
    if not isinstance(case_id, str):
        raise TypeError(f"`seed` must be an int or a case id string, got {type(case_id).__name__}")
    return int.from_bytes(hashlib.sha256(case_id.encode("utf-8")).digest()[:4], "little")


def _rng(seed: str | int) -> np.random.Generator:
    return np.random.default_rng(seed_from_case_id(seed))


def _check_common(shape, acceleration: float, center_fraction: float) -> tuple[int, int]:
    if len(shape) != 2 or min(int(s) for s in shape) < 1:
        raise ValueError(f"`shape` must be (H, W) with positive sizes, got {tuple(shape)}")
    if not acceleration >= 1:
        raise ValueError(f"`acceleration` must be >= 1, got {acceleration!r}")
    if not 0 <= center_fraction < 1:
        raise ValueError(f"`center_fraction` must be in [0, 1), got {center_fraction!r}")
    if center_fraction > 1 / acceleration:
        raise ValueError(
            f"`center_fraction` must be at most 1 / acceleration = {1 / acceleration:.4g}, got {center_fraction}"
        )
    return int(shape[0]), int(shape[1])


def _centre_columns(width: int, center_fraction: float) -> tuple[np.ndarray, int]:
    num_low = round(width * center_fraction)
    columns = np.zeros(width, dtype=bool)
    start = (width - num_low + 1) // 2
    columns[start : start + num_low] = True
    return columns, num_low


def _to_mask(columns_or_plane: np.ndarray, height: int) -> torch.Tensor:
    plane = np.broadcast_to(columns_or_plane, (height, columns_or_plane.shape[-1]))
    return torch.from_numpy(np.ascontiguousarray(plane, dtype=np.float32))


def random_mask(shape, *, acceleration: float, center_fraction: float, seed: str | int) -> torch.Tensor:
    """fastMRI random column mask: each outer column is kept with the probability that gives
    ``W / acceleration`` columns in expectation.

    Args:
        shape: ``(H, W)``; columns run along ``W`` (phase encoding).
        acceleration: target acceleration, e.g. 4 or 8.
        center_fraction: fraction of centre columns fully sampled, e.g. 0.08 at 4x, 0.04 at 8x.
        seed: case id (str) or int.

    Returns:
        float32 ``(H, W)`` mask, constant along ``H``.
    """
    height, width = _check_common(shape, acceleration, center_fraction)
    columns, num_low = _centre_columns(width, center_fraction)
    probability = (width / acceleration - num_low) / max(width - num_low, 1)
    columns |= _rng(seed).uniform(size=width) < probability
    return _to_mask(columns, height)


def equispaced_mask(shape, *, acceleration: float, center_fraction: float, seed: str | int) -> torch.Tensor:
    """fastMRI equispaced column mask (the "fraction" variant): centre columns plus columns every
    ``a'`` lines from a random offset, with ``a' = acceleration * (num_low - W) /
    (num_low * acceleration - W)`` so that the whole mask keeps ``W / acceleration`` columns.

    Args and returns as :func:`random_mask`.
    """
    height, width = _check_common(shape, acceleration, center_fraction)
    columns, num_low = _centre_columns(width, center_fraction)
    denominator = num_low * acceleration - width
    spacing = acceleration * (num_low - width) / denominator if denominator != 0 else float(acceleration)
    offset = int(_rng(seed).integers(0, max(round(spacing), 1)))
    positions = np.round(np.arange(offset, width - 1, spacing)).astype(int)
    columns[positions[positions < width]] = True
    return _to_mask(columns, height)


def _calibration_box(height: int, width: int, center_fraction: float) -> np.ndarray:
    box = np.zeros((height, width), dtype=bool)
    ch, cw = round(height * center_fraction), round(width * center_fraction)
    top, left = (height - ch + 1) // 2, (width - cw + 1) // 2
    box[top : top + ch, left : left + cw] = True
    return box


def _normalised_radius(height: int, width: int) -> np.ndarray:
    yy, xx = np.meshgrid(np.arange(height) - height // 2, np.arange(width) - width // 2, indexing="ij")
    return np.sqrt((yy / max(height / 2, 1)) ** 2 + (xx / max(width / 2, 1)) ** 2)


def _dart_throw(order: np.ndarray, radius: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Accept candidates in ``order`` unless inside the exclusion disc of an accepted point."""
    height, width = shape
    excluded = np.zeros(shape, dtype=bool)
    accepted = np.zeros(shape, dtype=bool)
    reach = int(math.ceil(radius.max()))
    dy, dx = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1), indexing="ij")
    distance = np.sqrt(dy**2 + dx**2)
    for flat in order:
        y, x = divmod(int(flat), width)
        if excluded[y, x]:
            continue
        accepted[y, x] = True
        r = radius[y, x]
        k = int(math.ceil(r))
        top, bottom, left, right = max(y - k, 0), min(y + k + 1, height), max(x - k, 0), min(x + k + 1, width)
        disc = distance[reach - (y - top) : reach + (bottom - y), reach - (x - left) : reach + (right - x)] < r
        excluded[top:bottom, left:right] |= disc
    return accepted


def poisson_disc_mask(
    shape,
    *,
    acceleration: float,
    center_fraction: float = 0.08,
    seed: str | int,
    density_slope: float = 2.0,
    crop_corner: bool = True,
    tolerance: float = 0.05,
) -> torch.Tensor:
    """Variable-density Poisson-disc mask over the 2D phase-encode plane.

    Candidates are visited in a seeded random order and accepted unless they fall inside the
    exclusion disc of an already accepted point; the disc radius grows linearly with the normalised
    distance ``d`` from the centre, ``r = r0 * (1 + density_slope * d)``, so density falls off as
    ``1 / r^2``. ``r0`` is adjusted (``r0 *= sqrt(count / target)``) so the mask (calibration rectangle of
    ``round(H * center_fraction) x round(W * center_fraction)`` included) keeps
    ``H * W / acceleration`` points within ``tolerance`` (relative) where reachable.

    Args:
        shape: ``(H, W)``, the two phase-encode axes.
        acceleration: target acceleration.
        center_fraction: side fraction of the fully sampled calibration rectangle.
        seed: case id (str) or int.
        density_slope: how fast the exclusion radius grows towards the edge (0 = uniform density).
        crop_corner: only sample inside the ellipse inscribed in the grid.
        tolerance: accepted relative error on the number of samples.

    Returns:
        float32 ``(H, W)`` mask.
    """
    height, width = _check_common(shape, acceleration, center_fraction)
    calibration = _calibration_box(height, width, center_fraction)
    distance = _normalised_radius(height, width)
    allowed = (distance <= 1.0) if crop_corner else np.ones((height, width), dtype=bool)
    candidates = np.flatnonzero(allowed & ~calibration)
    order = _rng(seed).permutation(candidates)
    target = height * width / acceleration - calibration.sum()
    shape2d = (height, width)
    profile = 1 + density_slope * distance
    # The number of accepted points falls roughly as r0^-2, so scale r0 by sqrt(count / target)
    # (a few passes) and keep the closest mask.
    r0, best = 1.0, None
    for _ in range(12):
        trial = _dart_throw(order, profile * r0, shape2d)
        if best is None or abs(trial.sum() - target) < abs(best.sum() - target):
            best = trial
        if abs(trial.sum() - target) <= tolerance * max(target, 1) or trial.sum() == 0:
            break
        r0 = max(r0 * float(np.sqrt(trial.sum() / max(target, 1))), 0.05)
    return _to_mask(best | calibration, height)


def gaussian_mask(
    shape,
    *,
    acceleration: float,
    center_fraction: float = 0.08,
    seed: str | int,
    std_fraction: float = 0.25,
) -> torch.Tensor:
    """2D variable-density random mask drawn from a centred Gaussian density.

    ``H * W / acceleration`` points are drawn without replacement (calibration rectangle included)
    with probability proportional to ``exp(-(dy^2 / (2 sy^2) + dx^2 / (2 sx^2)))``, where
    ``(sy, sx) = std_fraction * (H, W)``.

    Args:
        shape: ``(H, W)``.
        acceleration: target acceleration.
        center_fraction: side fraction of the fully sampled calibration rectangle.
        seed: case id (str) or int.
        std_fraction: standard deviation of the density as a fraction of each side.

    Returns:
        float32 ``(H, W)`` mask.
    """
    height, width = _check_common(shape, acceleration, center_fraction)
    if not std_fraction > 0:
        raise ValueError(f"`std_fraction` must be > 0, got {std_fraction!r}")
    calibration = _calibration_box(height, width, center_fraction)
    yy, xx = np.meshgrid(np.arange(height) - height // 2, np.arange(width) - width // 2, indexing="ij")
    density = np.exp(-0.5 * ((yy / (std_fraction * height)) ** 2 + (xx / (std_fraction * width)) ** 2))
    density[calibration] = 0
    count = int(round(height * width / acceleration - calibration.sum()))
    count = min(max(count, 0), int((density > 0).sum()))
    chosen = _rng(seed).choice(height * width, size=count, replace=False, p=density.ravel() / density.sum())
    plane = calibration.copy()
    plane.ravel()[chosen] = True
    return _to_mask(plane, height)


MASK_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "random": random_mask,
    "equispaced": equispaced_mask,
    "poisson": poisson_disc_mask,
    "gaussian2d": gaussian_mask,
}


def make_mask(mask_type: str, shape, *, acceleration: float, center_fraction: float, seed: str | int) -> torch.Tensor:
    """Dispatch to a mask function by name: ``"random"``, ``"equispaced"``, ``"poisson"``,
    ``"gaussian2d"`` (unknown names get a "did you mean" hint)."""
    function = look_up_option(mask_type, MASK_FUNCTIONS)
    return function(shape, acceleration=acceleration, center_fraction=center_fraction, seed=seed)


def mask_acceleration(mask: torch.Tensor | np.ndarray) -> float:
    """Achieved acceleration of an ``(H, W)`` (or ``(W,)``) mask: locations / sampled locations."""
    mask = torch.as_tensor(mask)
    sampled = float((mask != 0).sum())
    if sampled == 0:
        raise ValueError("`mask` must sample at least one location, got an all-zero mask")
    return mask.numel() / sampled
