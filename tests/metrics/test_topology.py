"""Betti numbers, Euler characteristic, clDice and skeleton recall against gudhi, cripser and hand-made cases."""

from __future__ import annotations

import cripser
import gudhi
import numpy as np
import pytest
import torch
from skimage.morphology import skeletonize

from medpipe.metrics import (
    betti_number_error,
    betti_numbers,
    cldice,
    connected_components_error,
    euler_characteristic,
    skeleton_recall,
)

from ._masks import blobs, noise, ring2d


def gudhi_betti(mask: np.ndarray, connectivity) -> tuple[int, ...]:
    """Bars of the sublevel filtration of ``1 - mask`` alive at 0.5 (V- or T-construction)."""
    values = 1.0 - mask.astype(float)
    if connectivity == 1:
        complex_ = gudhi.CubicalComplex(vertices=values)
    else:
        complex_ = gudhi.CubicalComplex(top_dimensional_cells=values)
    complex_.compute_persistence(homology_coeff_field=2, min_persistence=-1)
    return tuple(int(b) for b in complex_.persistent_betti_numbers(0.5, 0.5)[: mask.ndim])


def cripser_betti(mask: np.ndarray, connectivity) -> tuple[int, ...]:
    values = 1.0 - mask.astype(np.float64)
    compute = cripser.computePH if connectivity == 1 else cripser.computePH_T
    bars = compute(values, maxdim=mask.ndim - 1)
    betti = [0] * mask.ndim
    for dim, birth, death in bars[:, :3]:
        if birth <= 0 < death:
            betti[int(dim)] += 1
    return tuple(betti)


CASES = [
    (blobs, (17, 23), 0), (noise, (17, 23), 1), (blobs, (29, 26), 2), (noise, (29, 26), 3),
    (blobs, (9, 11, 13), 4), (noise, (9, 11, 13), 5), (blobs, (14, 12, 10), 6), (noise, (14, 12, 10), 7),
]


@pytest.mark.parametrize("connectivity", [1, "full"])
@pytest.mark.parametrize("make, shape, seed", CASES)
def test_betti_numbers_equal_gudhi_and_cripser(make, shape, seed, connectivity):
    mask = make(shape, seed)
    expected = gudhi_betti(mask, connectivity)
    assert cripser_betti(mask, connectivity) == expected
    assert betti_numbers(mask, connectivity) == expected


@pytest.mark.parametrize("make, shape, seed", CASES[:4])
def test_euler_characteristic_is_alternating_sum(make, shape, seed):
    mask = make(shape, seed)
    for connectivity in (1, "full"):
        betti = betti_numbers(mask, connectivity)
        assert euler_characteristic(mask, connectivity) == sum((-1) ** k * b for k, b in enumerate(betti))


def test_ring_against_broken_ring():
    ring = ring2d()
    broken = ring.copy()
    broken[1:3, 5] = False  # cut through the two-pixel-thick wall
    assert betti_numbers(ring) == (1, 1)
    assert betti_numbers(broken) == (1, 0)
    assert betti_number_error(broken, ring) == (0, 1)
    assert euler_characteristic(ring) == 0


def test_cavity_against_solid():
    solid = np.zeros((7, 8, 9), dtype=bool)
    solid[1:6, 2:7, 2:7] = True
    hollow = solid.copy()
    hollow[3, 4, 4] = False  # one enclosed background voxel: a cavity
    assert betti_numbers(solid) == (1, 0, 0)
    assert betti_numbers(hollow) == (1, 0, 1)
    assert betti_number_error(hollow, solid) == (0, 0, 1)
    assert euler_characteristic(hollow) == 2


def test_torus_against_plate():
    plate = np.zeros((9, 10, 5), dtype=bool)
    plate[1:8, 2:9, 2] = True
    torus = plate.copy()
    torus[3:6, 4:7, 2] = False
    assert betti_numbers(torus) == (1, 1, 0)
    assert betti_numbers(plate) == (1, 0, 0)
    assert betti_number_error(torus, plate) == (0, 1, 0)
    assert euler_characteristic(torus) == 0


def test_diagonal_pixels_depend_on_connectivity():
    diamond = np.zeros((5, 6), dtype=bool)
    diamond[[1, 2, 2, 3], [2, 1, 3, 2]] = True  # four pixels touching only at corners, around (2, 2)
    square = np.zeros((5, 6), dtype=bool)
    square[1:4, 1:4] = True
    square[2, 2] = False
    # Face neighbours: four components, and the centre leaks out diagonally (background is 8-connected).
    assert betti_numbers(diamond, 1) == (4, 0)
    # Full neighbours: one loop around a centre that the 4-connected background cannot leave.
    assert betti_numbers(diamond, "full") == (1, 1)
    assert betti_number_error(diamond, square, 1) == (3, 1)
    assert betti_number_error(diamond, square, "full") == (0, 0)
    assert connected_components_error(diamond, square, connectivity=1) == 3


def test_disjoint_blobs():
    pred = np.zeros((6, 11, 7), dtype=bool)
    pred[1:3, 1:3, 1:3] = pred[1:3, 5:7, 1:3] = pred[3:5, 8:10, 3:6] = True
    gt = pred.copy()
    gt[3:5, 8:10, 3:6] = False
    assert betti_numbers(pred) == (3, 0, 0)
    assert connected_components_error(pred, gt) == 1
    assert betti_number_error(pred, gt) == (1, 0, 0)


def test_empty_and_all_background():
    empty = np.zeros((5, 6, 7), dtype=np.uint8)
    assert betti_numbers(empty) == (0, 0, 0)
    assert euler_characteristic(empty) == 0
    full = np.ones((5, 6, 7), dtype=np.uint8)
    assert betti_number_error(empty, full) == (1, 0, 0)
    assert cldice(empty, empty) == 1.0
    assert cldice(empty, full) == 0.0
    assert skeleton_recall(empty, empty) == 1.0
    assert skeleton_recall(empty, full) == 0.0


def _direct_cldice(pred: np.ndarray, gt: np.ndarray) -> float:
    pred_skeleton, gt_skeleton = skeletonize(pred) > 0, skeletonize(gt) > 0
    precision = (pred_skeleton & gt).sum() / pred_skeleton.sum()
    sensitivity = (gt_skeleton & pred).sum() / gt_skeleton.sum()
    return 2 * precision * sensitivity / (precision + sensitivity)


@pytest.mark.parametrize("make, shape, seed", [(blobs, (31, 27), 0), (blobs, (13, 15, 11), 1), (noise, (19, 17), 2)])
def test_cldice_equals_direct_skeleton_computation(make, shape, seed):
    pred, gt = make(shape, seed), make(shape, seed + 50)
    assert cldice(pred, gt) == pytest.approx(_direct_cldice(pred, gt))
    gt_skeleton = skeletonize(gt) > 0
    assert skeleton_recall(pred, gt) == pytest.approx((gt_skeleton & pred).sum() / gt_skeleton.sum())
    assert cldice(gt, gt) == 1.0


def test_labels_torch_and_multilabel():
    label = np.zeros((9, 10), dtype=np.int64)
    label[ring2d()] = 2
    label[0, 0:3] = 4
    result = betti_numbers(torch.as_tensor(label), 1, labels=[2, 4])
    assert result == {2: (1, 1), 4: (1, 0)}
    errors = betti_number_error(label, np.where(label == 4, 0, label), labels=(2, 4))
    assert errors == {2: (0, 0), 4: (1, 0)}
    assert euler_characteristic(label, labels=2) == {2: 0}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: betti_number_error(np.zeros((5, 6)), np.zeros((5, 7))), r"`pred` and `gt` must have the same shape, got \(5, 6\) and \(5, 7\)"),
        (lambda: betti_numbers(np.array([[0, 1], [2, 0]])), r"`mask` must be binary .* got values \[0, 1, 2\]"),
        (lambda: cldice(np.array([[0, 1], [2, 0]]), np.zeros((2, 2))), r"`pred` must be binary"),
        (lambda: betti_numbers(np.array([[0.0, np.nan], [1, 0]])), r"`mask` must not contain NaN, got 1 NaN"),
        (lambda: betti_numbers(np.zeros((5, 6)), 2), r"`connectivity` must be 1 .* or 'full' .*, got 2"),
        (lambda: betti_numbers(np.zeros((5, 6)), "face"), r"`connectivity` must be .* got 'face'"),
        (lambda: betti_numbers(np.zeros(5)), r"`mask` must be 2D .* got shape \(5,\)"),
        (lambda: betti_numbers(np.zeros((5, 6)), labels="a"), r"`labels` must be an integer .* got 'a'"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_type_raises_type_error():
    with pytest.raises(TypeError, match=r"`mask` must be a numpy.ndarray or torch.Tensor, got list"):
        betti_numbers([[0, 1], [1, 0]])
