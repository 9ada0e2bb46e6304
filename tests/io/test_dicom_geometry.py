"""Tests for medpipe.io.dicom_geometry: sorting, spacing checks, tilt angle and the RAS affine."""

from __future__ import annotations

import numpy as np
import pytest

from medpipe.io.dicom_geometry import analyse_positions, slice_normal, stack_affine

AXIAL = np.array([1.0, 0, 0, 0, 1, 0])


def test_slice_normal_is_row_cross_column():
    np.testing.assert_allclose(slice_normal(AXIAL), [0, 0, 1])
    np.testing.assert_allclose(slice_normal([0, 1, 0, 0, 0, -1]), [-1, 0, 0])


def test_sorting_uses_projection_not_input_order():
    positions = np.array([[0, 0, z] for z in (4.0, 0.0, 2.0, 6.0)])
    geometry = analyse_positions(positions, AXIAL)
    assert geometry.order.tolist() == [1, 2, 0, 3]
    assert geometry.spacing == pytest.approx(2.0) and geometry.problems == [] and geometry.tilt_deg == 0


def test_oblique_stack_projection():
    orientation = np.array([1.0, 0, 0, 0, np.cos(0.3), -np.sin(0.3)])
    normal = slice_normal(orientation)
    positions = np.array([[5.0, 1.0, 2.0] + k * 1.5 * normal for k in (2, 0, 1)])
    geometry = analyse_positions(positions, orientation)
    assert geometry.order.tolist() == [1, 2, 0] and geometry.spacing == pytest.approx(1.5)
    assert geometry.tilt_deg == pytest.approx(0.0, abs=1e-6)


def test_repeated_locations_are_uniform_4d():
    positions = np.array([[0, 0, z] for z in (0, 2, 4)] * 3, dtype=float)
    geometry = analyse_positions(positions, AXIAL)
    assert geometry.repeats.tolist() == [3, 3, 3] and geometry.problems == []


def test_tilt_angle():
    angle = np.radians(18.5)
    positions = np.array([[0, k * np.sin(angle), k * np.cos(angle)] for k in range(4)])
    assert analyse_positions(positions, AXIAL).tilt_deg == pytest.approx(18.5)


def test_stack_affine_matches_dicom_equation():
    orientation = np.array([0.0, 1, 0, 0, 0, -1])  # sagittal
    affine = stack_affine([10.0, -20.0, 30.0], orientation, (0.75, 0.5), [2.0, 0, 0])
    voxel = np.array([3, 4, 5, 1.0])
    lps = np.array([10.0, -20, 30]) + 3 * 0.5 * orientation[:3] + 4 * 0.75 * orientation[3:] + 5 * np.array([2.0, 0, 0])
    np.testing.assert_allclose(affine @ voxel, [-lps[0], -lps[1], lps[2], 1])
