"""vessel_tree: designed Betti numbers against scipy/skimage and gudhi, determinism, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import euler_number

from medpipe.synthetic.vessels import betti_numbers, vessel_tree

SHAPE = (36, 40, 34)

DESIGNS = [
    {"num_trees": 1, "num_loops": 0},
    {"num_trees": 1, "num_loops": 2},
    {"num_trees": 3, "num_loops": 0},
    {"num_trees": 2, "num_loops": 1},
]


def _direct_betti(mask, full):
    """Independent oracle: components of foreground and padded background plus Euler number."""
    padded = np.pad(mask, 1)
    foreground = ndimage.generate_binary_structure(3, 3 if full else 1)
    background = ndimage.generate_binary_structure(3, 1 if full else 3)
    b0 = ndimage.label(padded, structure=foreground)[1]
    b2 = ndimage.label(~padded, structure=background)[1] - 1
    return b0, b0 + b2 - euler_number(padded, connectivity=3 if full else 1), b2


def _gudhi_betti(mask, full):
    """Betti numbers at filtration 0 of a cubical complex (voxels as cubes or as vertices)."""
    gudhi = pytest.importorskip("gudhi")
    values = np.where(np.pad(mask, 1), 0.0, 1.0)
    # closed foreground cubes meet at corners (26-connectivity); lower-star on vertices links faces only
    complex_ = gudhi.CubicalComplex(top_dimensional_cells=values) if full else gudhi.CubicalComplex(vertices=values)
    complex_.compute_persistence()
    return tuple(int(b) for b in complex_.persistent_betti_numbers(0.0, 0.0))


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: f"{d['num_trees']}trees_{d['num_loops']}loops")
def test_designed_betti_numbers_hold(design):
    tree = vessel_tree(SHAPE, seed=5, **design)
    expected = (design["num_trees"], design["num_loops"], 0)
    assert tree.betti == expected
    assert tree.mask.shape == SHAPE and tree.mask.dtype == bool
    for full in (False, True):
        assert _direct_betti(tree.mask, full) == expected
    assert betti_numbers(tree.mask, 1) == betti_numbers(tree.mask, "full") == expected


@pytest.mark.parametrize("full", [False, True])
def test_gudhi_agrees(full):
    tree = vessel_tree((28, 30, 26), seed=1, num_loops=1, depth=2)
    assert _gudhi_betti(tree.mask, full)[:3] == tree.betti


def test_betti_numbers_of_known_shapes():
    torus = np.zeros((9, 10, 5), dtype=bool)
    torus[1:8, 1:9, 1:4] = True
    torus[3:6, 3:7, :] = False  # a square ring: one tunnel
    assert betti_numbers(torus, 1) == (1, 1, 0)
    shell = np.zeros((7, 8, 9), dtype=bool)
    shell[1:6, 1:7, 1:8] = True
    shell[2:5, 2:6, 2:7] = False  # a hollow box: one cavity
    assert betti_numbers(shell, "full") == (1, 0, 1)
    with pytest.raises(ValueError, match="connectivity"):
        betti_numbers(shell, 2)


def test_determinism_and_geometry():
    first, second = vessel_tree(SHAPE, seed=2, num_loops=1), vessel_tree(SHAPE, seed=2, num_loops=1)
    other = vessel_tree(SHAPE, seed=3, num_loops=1)

    def digest(t):
        return hashlib.sha256(t.mask.tobytes() + t.segments.tobytes()).hexdigest()

    assert digest(first) == digest(second) != digest(other)
    assert first.segments.shape == (len(first.radii), 2, 3)
    assert np.all(first.radii >= 1.2)
    # every segment end point lies inside the mask
    points = np.rint(first.segments.reshape(-1, 3)).astype(int)
    assert first.mask[tuple(points.T)].all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_trees": 0}, ValueError, "num_trees"),
        ({"num_loops": -1}, ValueError, "num_loops"),
        ({"depth": 5}, ValueError, "depth"),
        ({"radius": 0.5}, ValueError, "radius"),
        ({"num_loops": 1, "depth": 1}, ValueError, "depth"),
        ({"shape": (20, 40, 40)}, ValueError, "shape"),
        ({"shape": (24, 24, 24), "num_trees": 8, "num_loops": 8, "radius": 4.0}, RuntimeError, "could not place"),
    ],
)
def test_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        vessel_tree(**{"shape": SHAPE, **kwargs})
