"""Slice geometry of a DICOM stack: sorting, spacing checks, gantry tilt and the RAS affine.

DICOM positions are in the patient's LPS frame. With ``ImageOrientationPatient`` =
``(r, c)`` (``r``: direction of increasing column index, ``c``: of increasing row index),
``ImagePositionPatient`` ``p_k`` of slice ``k`` and ``PixelSpacing`` = (row spacing
``dr``, column spacing ``dc``), voxel ``(i, j, k)`` (column, row, slice) is at

    x_LPS = p_0 + i * dc * r + j * dr * c + k * s,    s = (p_{N-1} - p_0) / (N - 1)

and the RAS affine is ``diag(-1, -1, 1, 1) @ [[dc r, dr c, s, p_0], [0, 0, 0, 1]]``. Slices are
ordered by the projection ``p_k . n`` of their position on the slice normal ``n = r x c``,
never by InstanceNumber.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "StackGeometry",
    "slice_normal",
    "analyse_positions",
    "stack_affine",
    "LPS_TO_RAS",
]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: positions closer than this (mm) along the normal are the same slice location
POSITION_TOLERANCE_MM = 0.01
#: spacing deviations above this fraction of the median spacing make a stack non-uniform
SPACING_TOLERANCE = 0.01
#: shear between the stacking direction and the slice normal above this (degrees) is tilt
TILT_TOLERANCE_DEG = 0.05


def slice_normal(orientation: np.ndarray) -> np.ndarray:
    """Unit normal ``r x c`` of an ``ImageOrientationPatient`` (6,) in LPS."""
    orientation = np.asarray(orientation, dtype=np.float64)
    normal = np.cross(orientation[:3], orientation[3:])
    return normal / np.linalg.norm(normal)


@dataclass
class StackGeometry:
    """What the positions of one stack say.

    Attributes:
        order: indices that sort the input slices by their projection on the normal.
        locations: sorted unique projections (mm), one per slice location.
        repeats: how many slices share each location (``> 1`` for 4D series).
        spacing: median distance between neighbouring locations (mm), 0 for one location.
        problems: human-readable reasons why the stack cannot be loaded as a regular grid.
        tilt_deg: angle between the stacking direction and the slice normal (degrees).
    """

    order: np.ndarray
    locations: np.ndarray
    repeats: np.ndarray
    spacing: float
    problems: list[str]
    tilt_deg: float


def analyse_positions(positions: np.ndarray, orientation: np.ndarray) -> StackGeometry:
    """Sort slices along the normal and check gaps, duplicates, uniformity and tilt.

    Args:
        positions: float64 ``(N, 3)`` ImagePositionPatient of every slice (LPS, mm).
        orientation: float64 ``(6,)`` the shared ImageOrientationPatient.

    Returns:
        :class:`StackGeometry`; ``problems`` is empty for a regular stack. A stack whose
        every location repeats the same number of times is a regular 4D stack.
    """
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    normal = slice_normal(orientation)
    projections = positions @ normal
    order = np.argsort(projections, kind="stable")
    sorted_projections = projections[order]
    starts = np.concatenate([[True], np.diff(sorted_projections) > POSITION_TOLERANCE_MM])
    group_ids = np.cumsum(starts) - 1
    locations = sorted_projections[starts]
    repeats = np.bincount(group_ids)
    problems: list[str] = []
    if repeats.size and repeats.min() != repeats.max():
        worst = int(np.argmax(repeats))
        problems.append(
            f"duplicate positions: {int(repeats.max())} slices at {locations[worst]:.3f} mm along the normal "
            f"but {int(repeats.min())} elsewhere"
        )
    spacing = 0.0
    tilt = 0.0
    if locations.size > 1:
        gaps = np.diff(locations)
        spacing = float(np.median(gaps))
        big = gaps > 1.5 * spacing
        if big.any():
            index = int(np.argmax(gaps))
            problems.append(
                f"missing slices: gap of {gaps[index]:.3f} mm after location {index} "
                f"(median spacing {spacing:.3f} mm, {int(big.sum())} gap(s) > 1.5x median)"
            )
        deviation = float(np.max(np.abs(gaps - spacing)))
        if not big.any() and deviation > SPACING_TOLERANCE * spacing:
            problems.append(
                f"non-uniform spacing: max deviation {deviation:.3f} mm from the median spacing {spacing:.3f} mm"
            )
        first = positions[order[0]]
        last = positions[order[-1]]
        direction = last - first
        cosine = abs(float(direction @ normal)) / max(float(np.linalg.norm(direction)), 1e-12)
        tilt = float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
    return StackGeometry(order, locations, repeats, spacing, problems, tilt)


def stack_affine(
    first_position: np.ndarray,
    orientation: np.ndarray,
    pixel_spacing: tuple[float, float],
    slice_step: np.ndarray,
) -> np.ndarray:
    """RAS affine of a stack in ``(column, row, slice)`` voxel order.

    Args:
        first_position: ``(3,)`` LPS position of the first voxel of the first sorted slice.
        orientation: ``(6,)`` ImageOrientationPatient.
        pixel_spacing: (row spacing, column spacing) in mm, the DICOM PixelSpacing order.
        slice_step: ``(3,)`` LPS vector from one slice to the next (mm).

    Returns:
        float64 ``(4, 4)`` voxel-to-RAS affine.
    """
    orientation = np.asarray(orientation, dtype=np.float64)
    row_spacing, column_spacing = (float(value) for value in pixel_spacing)
    lps = np.eye(4)
    lps[:3, 0] = orientation[:3] * column_spacing
    lps[:3, 1] = orientation[3:] * row_spacing
    lps[:3, 2] = np.asarray(slice_step, dtype=np.float64)
    lps[:3, 3] = np.asarray(first_position, dtype=np.float64)
    return LPS_TO_RAS @ lps
