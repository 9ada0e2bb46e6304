"""Betti matching error against the Betti-Matching-3D reference (the `topolosses` wheel's extension)."""

from __future__ import annotations

import importlib.util

import gudhi
import numpy as np
import pytest
import torch

from medpipe.metrics import betti_matching_error, betti_numbers
from medpipe.metrics.betti_matching import load_reference, refine_to_vertices, unmatched_counts

from ._masks import blobs, noise, ring2d

try:
    load_reference()
except ImportError as error:  # the oracle ships in the topolosses wheel
    pytest.skip(f"Betti-Matching-3D reference not installed: {error}", allow_module_level=True)


def reference_error(pred: np.ndarray, gt: np.ndarray) -> tuple[int, ...]:
    """The reference called as its loss calls it: sublevel of ``1 - mask``, on the uncropped arrays."""
    result = load_reference().compute_matching(
        np.ascontiguousarray(1.0 - pred, dtype=np.float64), np.ascontiguousarray(1.0 - gt, dtype=np.float64)
    )
    return tuple(int(a + b) for a, b in zip(result.num_unmatched_input1, result.num_unmatched_input2))


def corrected(pred: np.ndarray, gt: np.ndarray) -> tuple[int, ...]:
    error = list(reference_error(pred, gt))
    error[0] += int(pred.any() != gt.any())  # medpipe counts the essential bar of the only non-empty mask
    return tuple(error)


CASES = [
    (blobs, (23, 19), 0), (noise, (23, 19), 1), (blobs, (37, 41), 2), (noise, (12, 15), 3),
    (blobs, (11, 13, 9), 4), (noise, (11, 13, 9), 5), (blobs, (18, 14, 16), 6), (noise, (7, 9, 8), 7),
]


@pytest.mark.parametrize("make, shape, seed", CASES)
def test_equals_reference_after_correction(make, shape, seed):
    pred, gt = make(shape, seed), make(shape, seed + 100)
    assert betti_matching_error(pred, gt) == corrected(pred, gt)
    assert betti_matching_error(torch.as_tensor(gt), torch.as_tensor(pred), connectivity=1) == corrected(gt, pred)


@pytest.mark.parametrize("make, shape, seed", [CASES[0], CASES[4], CASES[5]])
def test_cropping_leaves_every_bar_unchanged(make, shape, seed):
    pred, gt = make(shape, seed, 0.2), make(shape, seed + 7, 0.2)
    big_shape = tuple(s + 6 for s in shape)
    inner = tuple(slice(2, 2 + s) for s in shape)
    big_pred, big_gt = np.zeros(big_shape, bool), np.zeros(big_shape, bool)
    big_pred[inner], big_gt[inner] = pred, gt
    for hops in (1, len(shape)):
        cropped = unmatched_counts(big_pred, big_gt, hops, crop=True)
        uncropped = unmatched_counts(big_pred, big_gt, hops, crop=False)
        for a, b in zip(cropped, uncropped):
            np.testing.assert_array_equal(a, b)
    assert betti_matching_error(big_pred, big_gt) == corrected(big_pred, big_gt)


@pytest.mark.parametrize("connectivity", [1, "full"])
@pytest.mark.parametrize("make, shape, seed", [CASES[1], CASES[4], CASES[7]])
def test_bars_agree_with_betti_numbers_of_the_same_construction(make, shape, seed, connectivity):
    # connectivity=1: the reference's own bars are those of the V-construction (face neighbours);
    # "full": the refined grid gives the T-construction's bars.
    pred, gt = make(shape, seed), make(shape, seed + 3)
    hops = 1 if connectivity == 1 else len(shape)
    matched, unmatched_pred, unmatched_gt = unmatched_counts(pred, gt, hops)
    essential = np.eye(len(shape), dtype=int)[0]
    np.testing.assert_array_equal(matched + unmatched_pred, np.array(betti_numbers(pred, connectivity)) - essential)
    np.testing.assert_array_equal(matched + unmatched_gt, np.array(betti_numbers(gt, connectivity)) - essential)


def test_refinement_turns_t_construction_into_v_construction():
    mask = noise((6, 7, 5), 11)
    values = 1.0 - mask.astype(float)
    refined = refine_to_vertices(values)
    assert refined.shape == (13, 15, 11)
    t_complex = gudhi.CubicalComplex(top_dimensional_cells=values)
    v_complex = gudhi.CubicalComplex(vertices=refined)
    for complex_ in (t_complex, v_complex):
        complex_.compute_persistence(homology_coeff_field=2, min_persistence=-1)
    assert list(v_complex.persistent_betti_numbers(0.5, 0.5)) == list(t_complex.persistent_betti_numbers(0.5, 0.5))


def test_hand_made_cases():
    ring = ring2d()
    broken = ring.copy()
    broken[1:3, 5] = False
    assert betti_matching_error(broken, ring) == (0, 1)  # the ring's loop has no partner

    solid = np.zeros((7, 8, 9), bool)
    solid[1:6, 2:7, 2:7] = True
    hollow = solid.copy()
    hollow[3, 4, 4] = False
    assert betti_matching_error(hollow, solid) == (0, 0, 1)

    plate = np.zeros((9, 10, 5), bool)
    plate[1:8, 2:9, 2] = True
    torus = plate.copy()
    torus[3:6, 4:7, 2] = False
    assert betti_matching_error(torus, plate) == (0, 1, 0)

    # Two blobs in gt, only one predicted: the missed blob's bar is unmatched.
    gt = np.zeros((6, 11, 7), bool)
    gt[1:3, 1:3, 1:3] = gt[3:5, 7:10, 3:6] = True
    pred = gt.copy()
    pred[3:5, 7:10, 3:6] = False
    assert betti_matching_error(pred, gt) == (1, 0, 0)
    # A predicted blob far from the gt blob is not matched with it: both dimension-0 bars count.
    moved = np.zeros_like(gt)
    moved[3:5, 7:10, 3:6] = True
    only_first = gt & ~moved
    assert betti_matching_error(moved, only_first) == corrected(moved, only_first)


def test_diagonal_pixels_depend_on_connectivity():
    diamond = np.zeros((5, 6), bool)
    diamond[[1, 2, 2, 3], [2, 1, 3, 2]] = True
    square = np.zeros((5, 6), bool)
    square[1:4, 1:4] = True
    square[2, 2] = False
    # Face neighbours: 3 extra components in the diamond, and the square's loop is unmatched.
    assert betti_matching_error(diamond, square, 1) == (3, 1)
    # Full neighbours: both are one loop around (2, 2), matched.
    assert betti_matching_error(diamond, square, "full") == (0, 0)


def test_empty_prediction_counts_the_essential_bar():
    gt = np.zeros((5, 6, 7), bool)
    gt[1:4, 2:5, 2:6] = True
    empty = np.zeros_like(gt)
    assert reference_error(empty, gt) == (0, 0, 0)  # the reference misses the lost object
    assert betti_matching_error(empty, gt) == (1, 0, 0)
    assert betti_matching_error(gt, empty, connectivity="full") == (1, 0, 0)
    assert betti_matching_error(empty, empty) == (0, 0, 0)


def test_labels_and_bad_input():
    label = np.zeros((9, 10), dtype=np.uint8)
    label[ring2d()] = 1
    label[0, :3] = 4
    pred = label.copy()
    pred[1:3, 5] = 0
    assert betti_matching_error(pred, label, labels=[1, 4]) == {1: (0, 1), 4: (0, 0)}
    with pytest.raises(ValueError, match=r"`pred` must be binary .* got values \[0, 1, 4\]"):
        betti_matching_error(pred, label)
    with pytest.raises(ValueError, match=r"`connectivity` must be 1 .* got 3"):
        betti_matching_error(label > 0, label > 0, connectivity=3)
    with pytest.raises(ValueError, match=r"`pred` and `gt` must have the same shape"):
        betti_matching_error(label, label[:, :5])


def test_missing_reference_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    load_reference.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install --no-deps topolosses"):
            load_reference()
    finally:
        monkeypatch.undo()
        load_reference.cache_clear()
