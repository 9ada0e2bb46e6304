"""Shared helpers of the phantoms: grids, ramps, smooth noise, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from medpipe.synthetic._shapes import (
    LatticeNoise,
    centred_affine,
    check_shape,
    check_spacing,
    grid_coordinates,
    is_grid,
    ramp,
    smoothstep,
)


def test_grid_coordinates_match_affine():
    shape, spacing = (5, 6, 7), (0.5, 1.5, 2.0)
    x, y, z = grid_coordinates(shape, spacing)
    affine = centred_affine(shape, spacing)
    index = np.array([3, 1, 6, 1.0])
    np.testing.assert_allclose((affine @ index)[:3], [x[3, 0, 0], y[0, 1, 0], z[0, 0, 6]], atol=1e-6)
    assert is_grid((x, y, z))
    assert not is_grid(tuple(np.broadcast_arrays(x, y, z)))


def test_lattice_noise_grid_equals_points():
    rng = np.random.default_rng(0)
    noise = LatticeNoise(rng, (4, 5, 3), (10.0, 12.0, 7.0))
    coords = grid_coordinates((7, 9, 5), (2.5, 2.4, 2.6))
    on_grid = noise.sample(coords)
    at_points = noise.sample(tuple(np.broadcast_arrays(*coords)))
    assert on_grid.shape == (7, 9, 5) and on_grid.dtype == np.float32
    np.testing.assert_allclose(on_grid, at_points, atol=1e-5)
    # the lattice corners are reproduced exactly
    corner = noise.sample(tuple(np.array([[[-v]]], dtype=np.float32) for v in (10.0, 12.0, 7.0)))
    assert corner[0, 0, 0] == pytest.approx(noise.values[0, 0, 0])


def test_ramp_and_smoothstep():
    np.testing.assert_allclose(ramp(np.array([-1.0, -0.25, 0.0, 0.25, 1.0]), 1.0), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(smoothstep(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])), [0, 0, 0.5, 1, 1])


def test_checks():
    assert check_shape((5, 6, 7)) == (5, 6, 7)
    with pytest.raises(ValueError, match="shape"):
        check_shape((5, 6))
    with pytest.raises(ValueError, match="shape"):
        check_shape((5.5, 6, 7))
    with pytest.raises(TypeError, match="shape"):
        check_shape(5)
    with pytest.raises(ValueError, match="spacing"):
        check_spacing((1.0, 0.0, 1.0))
    with pytest.raises(TypeError, match="spacing"):
        check_spacing("abc")
