"""Dice, HD95, ASSD and NSD against MONAI, plus the documented empty-mask results."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from monai.metrics import (
    compute_average_surface_distance,
    compute_dice,
    compute_hausdorff_distance,
    compute_surface_dice,
)

from medpipe.metrics import SurfaceDistance, assd, dice, hd95, normalized_surface_dice
from medpipe.metrics.segmentation import surface_distances

from ._masks import blobs, noise

CASES = [
    (blobs, (23, 19), (1.0, 1.0), 0),
    (noise, (17, 21), (0.7, 1.3), 1),
    (blobs, (40, 33), (0.5, 0.8), 2),
    (blobs, (11, 13, 9), (1.0, 1.0, 1.0), 3),
    (blobs, (20, 17, 15), (1.5, 1.5, 2.5), 4),
    (noise, (9, 8, 7), (1.0, 2.0, 3.0), 5),
]


@pytest.mark.parametrize("make, shape, spacing, seed", CASES)
def test_equal_monai(make, shape, spacing, seed):
    pred, gt = make(shape, seed), make(shape, seed + 20)
    y_pred = torch.as_tensor(pred)[None, None].float()
    y = torch.as_tensor(gt)[None, None].float()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "dice": compute_dice(y_pred, y).item(),
            "hd95": compute_hausdorff_distance(y_pred, y, percentile=95, spacing=spacing).item(),
            "assd": compute_average_surface_distance(y_pred, y, symmetric=True, spacing=spacing).item(),
            "nsd": compute_surface_dice(y_pred, y, [1.5], spacing=spacing).item(),
        }
    assert dice(pred, gt) == pytest.approx(expected["dice"], rel=1e-6)
    assert hd95(pred, gt, spacing=spacing) == pytest.approx(expected["hd95"], rel=1e-5)
    assert assd(pred, gt, spacing=spacing) == pytest.approx(expected["assd"], rel=1e-5)
    assert normalized_surface_dice(pred, gt, tolerance=1.5, spacing=spacing) == pytest.approx(expected["nsd"], rel=1e-5)


def test_hd95_is_max_of_directed_percentiles_not_medpy_pooled():
    # gt: a 1x20 bar; pred: the same bar plus a 2-pixel spur sticking out 6 pixels away.
    gt = np.zeros((12, 24), bool)
    gt[2, 2:22] = True
    pred = gt.copy()
    pred[8, 2:4] = True
    pred_to_gt, gt_to_pred = surface_distances(pred, gt, np.ones(2))
    pooled = np.percentile(np.concatenate([pred_to_gt, gt_to_pred]), 95)  # medpy's hd95
    directed = max(np.percentile(pred_to_gt, 95), np.percentile(gt_to_pred, 95))
    # 22 pred surface pixels, two of them 6 away: P95 interpolates 0.95 * 21 = 19.95 of the way -> 5.7.
    assert hd95(pred, gt) == pytest.approx(directed) == pytest.approx(5.7)
    # Pooled over 42 distances the two outliers fall above the 95th percentile: medpy reports 0.
    assert pooled == 0.0


def test_identities():
    mask = blobs((13, 14, 9), 3)
    assert dice(mask, mask) == 1.0
    assert hd95(mask, mask) == 0.0
    assert assd(mask, mask) == 0.0
    assert normalized_surface_dice(mask, mask, tolerance=0.0) == 1.0


def test_empty_masks_are_defined():
    empty = np.zeros((5, 6, 7), bool)
    blob = np.zeros_like(empty)
    blob[1:4, 2:5, 3:6] = True
    assert dice(empty, empty) == 1.0
    assert dice(empty, blob) == 0.0
    both = hd95(empty, empty)
    assert both == 0.0 and both.empty_pred and both.empty_gt
    missing = hd95(empty, blob, spacing=2.0)
    assert math.isinf(missing) and missing.empty_pred and not missing.empty_gt
    extra = assd(blob, empty)
    assert math.isinf(extra) and extra.empty_gt and not extra.empty_pred
    assert normalized_surface_dice(empty, empty) == 1.0
    assert normalized_surface_dice(blob, empty) == 0.0
    value = hd95(blob, blob)
    assert isinstance(value, SurfaceDistance) and not value.empty_pred
    assert "empty_pred=False" in repr(value)


def test_labels_and_torch():
    label = np.zeros((9, 10, 6), dtype=np.int16)
    label[1:5, 1:5, 1:4] = 1
    label[5:8, 6:9, 2:5] = 2
    pred = label.copy()
    pred[1, 1:5, 1:4] = 0
    result = dice(torch.as_tensor(pred), torch.as_tensor(label), labels=[1, 2, 3])
    assert result[2] == 1.0 and result[3] == 1.0
    assert result[1] == pytest.approx(2 * 36 / (36 + 48))
    assert hd95(pred, label, labels=2, spacing=(1, 1, 2)) == {2: 0.0}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: hd95(m, m, spacing=(1.0, 1.0)), r"`spacing` must be one positive number or 3 positive numbers, got \(1.0, 1.0\)"),
        (lambda m: assd(m, m, spacing=-1), r"`spacing` must be .* got -1"),
        (lambda m: normalized_surface_dice(m, m, tolerance=-0.5), r"`tolerance` must be a finite number >= 0, got -0.5"),
        (lambda m: dice(m, m[:, :, :3]), r"`pred` and `gt` must have the same shape, got \(5, 6, 7\) and \(5, 6, 3\)"),
        (lambda m: dice(m * 3, m), r"`pred` must be binary"),
        (lambda m: dice(np.where(m, np.nan, 0.0), m), r"`pred` must not contain NaN"),
    ],
)
def test_bad_input(call, match):
    mask = np.zeros((5, 6, 7), dtype=np.uint8)
    mask[1:3, 1:3, 1:3] = 1
    with pytest.raises(ValueError, match=match):
        call(mask)
