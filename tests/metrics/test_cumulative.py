"""MONAI CumulativeIterationMetric classes: same values as the functions, and usable in an ignite Engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from medpipe import metrics
from medpipe.metrics.betti_matching import load_reference

from ._masks import blobs


def _batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot (B=2, C=2, 9, 11, 7) prediction and ground truth."""
    fg_pred = np.stack([blobs((9, 11, 7), seed), blobs((9, 11, 7), seed + 1)])
    fg_gt = np.stack([blobs((9, 11, 7), seed + 2), blobs((9, 11, 7), seed + 3)])
    as_onehot = lambda fg: torch.as_tensor(np.stack([~fg, fg], axis=1)).float()  # noqa: E731
    return as_onehot(fg_pred), as_onehot(fg_gt)


PAIRS = [
    ("DiceMetric", {}, lambda p, g: metrics.dice(p, g)),
    ("ClDiceMetric", {}, lambda p, g: metrics.cldice(p, g)),
    ("SkeletonRecallMetric", {}, lambda p, g: metrics.skeleton_recall(p, g)),
    ("HD95Metric", {"spacing": (1, 1, 2)}, lambda p, g: metrics.hd95(p, g, spacing=(1, 1, 2))),
    ("ASSDMetric", {}, lambda p, g: metrics.assd(p, g)),
    ("NormalizedSurfaceDiceMetric", {"tolerance": 2.0}, lambda p, g: metrics.normalized_surface_dice(p, g, tolerance=2.0)),
    ("BettiNumberErrorMetric", {}, lambda p, g: sum(metrics.betti_number_error(p, g))),
    ("BettiNumberErrorMetric", {"dimension": 1, "connectivity": "full"}, lambda p, g: metrics.betti_number_error(p, g, "full")[1]),
    ("BettiMatchingErrorMetric", {}, lambda p, g: sum(metrics.betti_matching_error(p, g))),
    ("ConnectedComponentsErrorMetric", {}, lambda p, g: metrics.connected_components_error(p, g)),
    ("EulerCharacteristicErrorMetric", {}, lambda p, g: abs(metrics.euler_characteristic(p) - metrics.euler_characteristic(g))),
]


@pytest.mark.parametrize("name, kwargs, function", PAIRS)
def test_class_buffers_function_values(name, kwargs, function):
    if name == "BettiMatchingErrorMetric":
        try:
            load_reference()
        except ImportError as error:
            pytest.skip(f"Betti-Matching-3D reference not installed: {error}")
    y_pred, y = _batch(0)
    metric = getattr(metrics, name)(**kwargs)
    values = metric(y_pred=y_pred, y=y)
    assert values.shape == (2, 1)  # background channel left out
    expected = [function(y_pred[b, 1].numpy() > 0, y[b, 1].numpy() > 0) for b in range(2)]
    np.testing.assert_allclose(values[:, 0].numpy(), expected, rtol=1e-6)
    assert metric.aggregate().item() == pytest.approx(float(np.mean(expected)), rel=1e-6)
    metric.reset()


def test_betti_numbers_metric_needs_no_ground_truth():
    y_pred, _ = _batch(2)
    values = metrics.BettiNumbersMetric(dimension=0)(y_pred)
    expected = [metrics.betti_numbers(y_pred[b, 1].numpy() > 0)[0] for b in range(2)]
    np.testing.assert_array_equal(values[:, 0].numpy(), expected)
    total = metrics.BettiNumbersMetric(connectivity="full")(y_pred, y_pred)
    assert total[0, 0].item() == sum(metrics.betti_numbers(y_pred[0, 1].numpy() > 0, "full"))


def test_empty_value_replaces_inf_and_spacing_per_call():
    y_pred, y = _batch(1)
    y_pred[0, 1] = 0
    assert math.isinf(metrics.HD95Metric()(y_pred, y)[0, 0].item())
    assert metrics.HD95Metric(empty_value=373.13)(y_pred, y)[0, 0].item() == pytest.approx(373.13)
    per_call = metrics.HD95Metric()(y_pred, y, spacing=2.0)[1, 0].item()
    assert per_call == pytest.approx(float(metrics.hd95(y_pred[1, 1].numpy() > 0, y[1, 1].numpy() > 0, spacing=2.0)))


def test_ignite_metric_handler_in_an_engine():
    from ignite.engine import Engine
    from monai.handlers import IgniteMetricHandler

    batches = [_batch(seed) for seed in (0, 5)]
    engine = Engine(lambda engine, batch: {"pred": batch[0], "label": batch[1]})
    handler = IgniteMetricHandler(
        metric_fn=metrics.BettiNumberErrorMetric(), output_transform=lambda out: (out["pred"], out["label"])
    )
    handler.attach(engine, name="betti_error")
    engine.run(batches, max_epochs=1)
    expected = np.mean(
        [sum(metrics.betti_number_error(p[b, 1].numpy() > 0, g[b, 1].numpy() > 0)) for p, g in batches for b in range(2)]
    )
    assert engine.state.metrics["betti_error"] == pytest.approx(expected)


def test_bad_input():
    y_pred, y = _batch(0)
    with pytest.raises(ValueError, match=r"`y_pred` and `y` must share one shape .* got \(2, 2, 9, 11, 7\) and \(2, 2, 9, 11, 6\)"):
        metrics.DiceMetric()(y_pred, y[..., :6])
    with pytest.raises(ValueError, match=r"`y_pred` must be binary"):
        metrics.DiceMetric()(y_pred * 0.5, y)
    with pytest.raises(ValueError, match=r"`dimension` must be None, 0, 1 or 2, got 3"):
        metrics.BettiNumberErrorMetric(dimension=3)
    with pytest.raises(ValueError, match=r"`connectivity` must be 1 .* got 'face'"):
        metrics.BettiMatchingErrorMetric(connectivity="face")
    with pytest.raises(ValueError, match=r"`dimension` must be < 2 for 2D input, got 2"):
        metrics.BettiNumberErrorMetric(dimension=2)(y_pred[..., 0], y[..., 0])
