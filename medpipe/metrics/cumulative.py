"""MONAI ``CumulativeIterationMetric`` classes around medpipe's metric functions.

Each class takes batch-first, channel-first binary tensors ``y_pred, y: (B, C, H, W[, D])``
(one-hot, as after ``AsDiscrete``), computes its function for every batch item and channel, and
buffers a float32 ``(B, C)`` tensor, so it works in MONAI evaluators through
``monai.handlers.IgniteMetricHandler``. ``aggregate()`` reduces with MONAI's
``do_metric_reduction`` (``reduction="mean"`` by default).

Betti errors are vectors (one value per homology dimension): ``dimension=None`` buffers their sum,
an integer buffers that dimension only.
"""

from __future__ import annotations

from abc import abstractmethod

from typing import Any, Callable

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric
from monai.metrics.utils import do_metric_reduction

from medpipe.metrics import betti_matching, segmentation, topology
from medpipe.metrics._inputs import check_connectivity, to_mask

__all__ = [
    "ASSDMetric",
    "BettiMatchingErrorMetric",
    "BettiNumberErrorMetric",
    "BettiNumbersMetric",
    "ClDiceMetric",
    "ConnectedComponentsErrorMetric",
    "DiceMetric",
    "EulerCharacteristicErrorMetric",
    "HD95Metric",
    "NormalizedSurfaceDiceMetric",
    "SkeletonRecallMetric",
]


class _PairMetric(CumulativeIterationMetric):
    """Shared loop: one binary ``(pred, gt)`` value per batch item and channel.

    Args:
        include_background: keep channel 0 when ``C > 1`` (default False, as MONAI's distances).
        reduction: MONAI ``MetricReduction`` used by ``aggregate``.
        get_not_nans: ``aggregate`` also returns the count of non-NaN values.
    """

    def __init__(self, include_background: bool = False, reduction: str = "mean", get_not_nans: bool = False) -> None:
        super().__init__()
        self.include_background = include_background
        self.reduction = reduction
        self.get_not_nans = get_not_nans

    @abstractmethod
    def _value(self, pred: np.ndarray, gt: np.ndarray, **kwargs: Any) -> float:
        """The metric of one binary ``(pred, gt)`` pair; every concrete metric defines it."""

    requires_y = True

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None, **kwargs: Any) -> torch.Tensor:  # type: ignore[override]
        if y is None and not self.requires_y:
            y = y_pred
        if not isinstance(y_pred, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise TypeError(f"`y_pred` and `y` must be torch.Tensor, got {type(y_pred).__name__} and {type(y).__name__}")
        if y_pred.shape != y.shape or y_pred.ndim not in (4, 5):
            raise ValueError(
                f"`y_pred` and `y` must share one shape (B, C, H, W[, D]), got {tuple(y_pred.shape)} and {tuple(y.shape)}"
            )
        start = 1 if not self.include_background and y_pred.shape[1] > 1 else 0
        pred_np, gt_np = y_pred.detach().cpu().numpy(), y.detach().cpu().numpy()
        values = np.empty((y_pred.shape[0], y_pred.shape[1] - start), dtype=np.float32)
        for b, c in np.ndindex(*values.shape):
            pred_mask, gt_mask = to_mask(pred_np[b, c + start], "y_pred"), to_mask(gt_np[b, c + start], "y")
            values[b, c] = self._value(pred_mask, gt_mask, **kwargs)
        return torch.as_tensor(values, device=y_pred.device)

    def aggregate(self, reduction: str | None = None):  # noqa: D102
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor):
            raise ValueError(f"the buffer to aggregate must be a torch.Tensor, got {type(data).__name__}")
        f, not_nans = do_metric_reduction(data, reduction or self.reduction)
        return (f, not_nans) if self.get_not_nans else f


class _FunctionMetric(_PairMetric):
    """A pair metric whose value is ``function(pred, gt)``."""

    function: Callable[..., Any]

    def _value(self, pred: np.ndarray, gt: np.ndarray, **kwargs: Any) -> float:
        return float(type(self).function(pred, gt))


class DiceMetric(_FunctionMetric):
    """Buffers :func:`medpipe.metrics.dice` (two empty masks score 1.0, unlike MONAI's NaN)."""

    function = staticmethod(segmentation.dice)


class ClDiceMetric(_FunctionMetric):
    """Buffers :func:`medpipe.metrics.cldice`."""

    function = staticmethod(topology.cldice)


class SkeletonRecallMetric(_FunctionMetric):
    """Buffers :func:`medpipe.metrics.skeleton_recall`."""

    function = staticmethod(topology.skeleton_recall)


class _DistanceMetric(_PairMetric):
    """Surface-distance metrics with ``spacing`` (constructor default, or per call like MONAI).

    Args:
        spacing: voxel size, one number or one per spatial axis.
        empty_value: value buffered instead of ``inf`` when exactly one mask is empty (e.g. the
            image diagonal, as BraTS does); ``None`` keeps ``inf``.
    """

    function: Callable[..., Any]

    def __init__(
        self,
        spacing: Any = None,
        empty_value: float | None = None,
        include_background: bool = False,
        reduction: str = "mean",
        get_not_nans: bool = False,
    ) -> None:
        super().__init__(include_background, reduction, get_not_nans)
        self.spacing, self.empty_value = spacing, empty_value

    def _value(self, pred: np.ndarray, gt: np.ndarray, **kwargs: Any) -> float:
        spacing = kwargs.get("spacing", self.spacing)
        value = float(type(self).function(pred, gt, spacing=spacing))
        return self.empty_value if np.isinf(value) and self.empty_value is not None else value


class HD95Metric(_DistanceMetric):
    """Buffers :func:`medpipe.metrics.hd95` (MONAI's max-of-directed-P95 convention)."""

    function = staticmethod(segmentation.hd95)


class ASSDMetric(_DistanceMetric):
    """Buffers :func:`medpipe.metrics.assd`."""

    function = staticmethod(segmentation.assd)


class NormalizedSurfaceDiceMetric(_PairMetric):
    """Buffers :func:`medpipe.metrics.normalized_surface_dice`.

    Args:
        tolerance: distance within which surface counts as correct, in units of ``spacing``.
        spacing: voxel size (constructor default, or ``spacing=`` per call).
    """

    def __init__(
        self,
        tolerance: float = 1.0,
        spacing: Any = None,
        include_background: bool = False,
        reduction: str = "mean",
        get_not_nans: bool = False,
    ) -> None:
        super().__init__(include_background, reduction, get_not_nans)
        self.tolerance, self.spacing = tolerance, spacing

    def _value(self, pred: np.ndarray, gt: np.ndarray, **kwargs: Any) -> float:
        spacing = kwargs.get("spacing", self.spacing)
        return segmentation.normalized_surface_dice(pred, gt, tolerance=self.tolerance, spacing=spacing)


class _TopologyMetric(_PairMetric):
    """Topology metrics with ``connectivity`` (1 or "full") and, for vectors, ``dimension``."""

    function: Callable[..., Any]

    def __init__(
        self,
        connectivity: int | str = 1,
        dimension: int | None = None,
        include_background: bool = False,
        reduction: str = "mean",
        get_not_nans: bool = False,
    ) -> None:
        super().__init__(include_background, reduction, get_not_nans)
        check_connectivity(connectivity, 3)
        if dimension is not None and (isinstance(dimension, bool) or dimension not in (0, 1, 2)):
            raise ValueError(f"`dimension` must be None, 0, 1 or 2, got {dimension!r}")
        self.connectivity, self.dimension = connectivity, dimension

    def _value(self, pred: np.ndarray, gt: np.ndarray, **kwargs: Any) -> float:
        errors = np.atleast_1d(type(self).function(pred, gt, self.connectivity))
        if self.dimension is None:
            return float(errors.sum())
        if self.dimension >= errors.size:
            raise ValueError(f"`dimension` must be < {errors.size} for {pred.ndim}D input, got {self.dimension}")
        return float(errors[self.dimension])


class BettiNumbersMetric(_TopologyMetric):
    """Buffers :func:`medpipe.metrics.betti_numbers` of ``y_pred`` (``y`` is optional and ignored).

    ``dimension=k`` buffers ``b_k``; ``None`` buffers the total Betti number ``b_0 + b_1 (+ b_2)``.
    """

    requires_y = False
    function = staticmethod(lambda pred, gt, connectivity: topology.betti_numbers(pred, connectivity))


class BettiNumberErrorMetric(_TopologyMetric):
    """Buffers :func:`medpipe.metrics.betti_number_error` (summed over dimensions unless ``dimension``)."""

    function = staticmethod(topology.betti_number_error)


class BettiMatchingErrorMetric(_TopologyMetric):
    """Buffers :func:`medpipe.metrics.betti_matching_error` (summed over dimensions unless ``dimension``)."""

    function = staticmethod(betti_matching.betti_matching_error)


class ConnectedComponentsErrorMetric(_TopologyMetric):
    """Buffers :func:`medpipe.metrics.connected_components_error`."""

    function = staticmethod(topology.connected_components_error)


def _euler_characteristic_error(pred: np.ndarray, gt: np.ndarray, connectivity: int | str) -> int:
    return abs(topology.euler_characteristic(pred, connectivity) - topology.euler_characteristic(gt, connectivity))


class EulerCharacteristicErrorMetric(_TopologyMetric):
    """Buffers ``|chi(pred) - chi(gt)|`` with :func:`medpipe.metrics.euler_characteristic`."""

    function = staticmethod(_euler_characteristic_error)
