"""Topology-aware segmentation losses: Betti matching, clDice, Skeleton Recall and SPOCKMIP's MIP loss.

All losses take probabilities (or logits with ``sigmoid=``/``softmax=``) ``input: float (B, C, *spatial)``
and a same-shape one-hot ``target``, and return a scalar with ``reduction="mean"``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from monai.losses import SoftclDiceLoss, SoftDiceclDiceLoss
from skimage.morphology import dilation, skeletonize
from torch.nn.modules.loss import _Loss

from medpipe.metrics._inputs import check_connectivity
from medpipe.metrics.betti_matching import load_reference

__all__ = [
    "BettiMatchingLoss",
    "ClDiceLoss",
    "DiceClDiceLoss",
    "MIPLoss",
    "SkeletonRecallLoss",
    "focal_tversky_loss",
    "tubed_skeleton",
]

#: Soft clDice (Shit et al., CVPR 2021): MONAI's implementation, re-exported under medpipe's name.
ClDiceLoss = SoftclDiceLoss
#: ``(1 - alpha) * soft Dice + alpha * soft clDice``: MONAI's implementation, re-exported.
DiceClDiceLoss = SoftDiceclDiceLoss


def _activate(input: torch.Tensor, sigmoid: bool, softmax: bool) -> torch.Tensor:
    if sigmoid and softmax:
        raise ValueError("`sigmoid` and `softmax` must not both be True, got sigmoid=True, softmax=True")
    if sigmoid:
        return torch.sigmoid(input)
    if softmax:
        return torch.softmax(input, dim=1)
    return input


def _check_pair(input: torch.Tensor, target: torch.Tensor, min_spatial: int = 2) -> None:
    if input.shape != target.shape or input.ndim not in (2 + min_spatial, 5):
        raise ValueError(
            f"`input` and `target` must share one shape (B, C, H, W[, D]), got {tuple(input.shape)} and {tuple(target.shape)}"
        )


def _channels(input: torch.Tensor, target: torch.Tensor, include_background: bool):
    start = 0 if include_background or input.shape[1] == 1 else 1
    return input[:, start:], target[:, start:]


def _refine(values: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`medpipe.metrics.betti_matching.refine_to_vertices` (differentiable)."""
    refined = values
    for axis in range(values.ndim):
        moved = refined.movedim(axis, 0)
        edges = torch.minimum(moved[:-1], moved[1:])
        # cells along the axis: voxel 0's outer face, then voxel i, face (i, i+1), ..., the last outer face
        interleaved = torch.stack([moved[:-1], edges], dim=1).flatten(0, 1)
        refined = torch.cat([moved[:1], interleaved, moved[-1:], moved[-1:]], dim=0).movedim(0, axis)
    return refined


def _gather(values: torch.Tensor, coordinates) -> torch.Tensor:
    """``values`` at the voxel coordinates ``(n, ndim)`` reported by the reference (``n`` may be 0)."""
    index = torch.as_tensor(np.asarray(coordinates, dtype=np.int64).reshape(-1, values.ndim), device=values.device)
    return values[tuple(index.T)]


class BettiMatchingLoss(_Loss):
    """Betti matching loss (Stucki et al., ICML 2023, Eq. 5; efficient 3D version 2024).

    For each batch item and channel, the sublevel filtrations of ``1 - input`` and ``1 - target``
    are matched with the reference Betti-Matching-3D engine on *detached* float64 arrays. The loss
    is then gathered from the birth and death voxels, so gradients flow only through them::

        L = sum_matched 2 ||(b_p, d_p) - (b_g, d_g)||^2
          + sum_unmatched_pred (b_p - d_p)^2 + sum_unmatched_gt (b_g - d_g)^2

    (``(b - d)^2 = 2 ||q - diag(q)||^2`` pushes an unmatched bar onto the diagonal.)

    Args:
        connectivity: ``1`` (face neighbours, the reference's V-construction) or ``"full"``
            (T-construction through the refined ``2n + 1`` grid, 8x the work in 3D).
        include_background: keep channel 0 when ``C > 1``.
        sigmoid, softmax: activation applied to ``input`` first.
        reduction: ``"mean"`` or ``"sum"`` over batch items and channels, or ``"none"`` for ``(B, C)``.

    Raises:
        ImportError: the ``topolosses`` wheel (``pip install --no-deps topolosses``) is missing.
    """

    def __init__(
        self,
        connectivity: int | str = 1,
        include_background: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        check_connectivity(connectivity, 3)
        self.connectivity, self.include_background = connectivity, include_background
        self.sigmoid, self.softmax = sigmoid, softmax
        load_reference()  # fail at construction, with the install hint, rather than mid-training

    @staticmethod
    def _pair_loss(prediction: torch.Tensor, target: torch.Tensor, result) -> torch.Tensor:
        """Eq. 5 of Stucki et al. for one pair, from the reference's birth/death coordinates."""
        total = prediction.new_zeros(())
        for dim in range(len(result.num_matched)):
            pred_birth = _gather(prediction, result.input1_matched_birth_coordinates[dim])
            pred_death = _gather(prediction, result.input1_matched_death_coordinates[dim])
            gt_birth = _gather(target, result.input2_matched_birth_coordinates[dim])
            gt_death = _gather(target, result.input2_matched_death_coordinates[dim])
            total = total + 2 * (((pred_birth - gt_birth) ** 2).sum() + ((pred_death - gt_death) ** 2).sum())
            for values, births, deaths in (
                (prediction, result.input1_unmatched_birth_coordinates[dim], result.input1_unmatched_death_coordinates[dim]),
                (target, result.input2_unmatched_birth_coordinates[dim], result.input2_unmatched_death_coordinates[dim]),
            ):
                total = total + ((_gather(values, births) - _gather(values, deaths)) ** 2).sum()
        return total

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Args: ``input`` float (B, C, H, W[, D]) probabilities (or logits), ``target`` same-shape one-hot."""
        _check_pair(input, target)
        input, target = _channels(_activate(input, self.sigmoid, self.softmax), target.to(input.dtype), self.include_background)
        full = self.connectivity == "full"
        predictions, targets = [], []
        for b, c in np.ndindex(*input.shape[:2]):
            prediction, truth = 1.0 - input[b, c], 1.0 - target[b, c]
            predictions.append(_refine(prediction) if full else prediction)
            targets.append(_refine(truth) if full else truth)
        results = load_reference().compute_matching(
            [np.ascontiguousarray(p.detach().cpu().numpy(), dtype=np.float64) for p in predictions],
            [np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float64) for t in targets],
        )
        losses = torch.stack([self._pair_loss(p, t, r) for p, t, r in zip(predictions, targets, results)])
        losses = losses.reshape(input.shape[:2])
        if self.reduction == "mean":
            return losses.mean()
        return losses.sum() if self.reduction == "sum" else losses


def tubed_skeleton(label: np.ndarray, *, tube: bool = True) -> np.ndarray:
    """Tubed skeleton of a label map for :class:`SkeletonRecallLoss` (Kirchhoff et al., ECCV 2024).

    The foreground (``label > 0``) is skeletonized (``skimage.morphology.skeletonize``), dilated
    twice with the face-neighbour cross into a thin tube when ``tube``, and each skeleton voxel keeps
    the label it lies on. Computed once per sample, e.g. in data loading.

    Args:
        label: int ``(H, W)`` or ``(H, W, D)`` label map (0 = background).
        tube: dilate the skeleton (the paper's setting).

    Returns:
        int16 array, same shape: the label value on the (tubed) skeleton, 0 elsewhere.
    """
    label = np.asarray(label)
    if label.ndim not in (2, 3):
        raise ValueError(f"`label` must be 2D or 3D, got shape {label.shape}")
    foreground = label > 0
    if not foreground.any():
        return np.zeros(label.shape, dtype=np.int16)
    skeleton = skeletonize(foreground).astype(np.int16)
    if tube:
        skeleton = dilation(dilation(skeleton))
    return (skeleton > 0) * label.astype(np.int16)


class SkeletonRecallLoss(_Loss):
    """Skeleton Recall loss (Kirchhoff et al., ECCV 2024): ``1 - soft recall`` of the tubed skeleton.

    ``recall_{b,c} = (sum p * s + smooth) / (sum s + smooth)`` with ``s`` the one-hot tubed skeleton
    of the ground truth (:func:`tubed_skeleton`), so no differentiable skeletonization is needed.
    The authors' nnU-Net code returns ``-recall``; ``1 - recall`` has the same gradient and stays
    non-negative. The paper adds it to Dice + CE with a weight.

    Args:
        include_background: keep channel 0 when ``C > 1``.
        sigmoid, softmax: activation applied to ``input`` first.
        smooth: added to numerator and denominator (an empty skeleton gives recall 1).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(B, C)``).
    """

    def __init__(
        self, include_background: bool = False, sigmoid: bool = False, softmax: bool = False, smooth: float = 1e-5,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        self.include_background, self.sigmoid, self.softmax, self.smooth = include_background, sigmoid, softmax, smooth

    def forward(self, input: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
        """Args: ``input`` float (B, C, H, W[, D]); ``skeleton`` same-shape one-hot tubed skeleton."""
        _check_pair(input, skeleton)
        input, skeleton = _channels(_activate(input, self.sigmoid, self.softmax), skeleton.to(input.dtype), self.include_background)
        axes = tuple(range(2, input.ndim))
        recall = ((input * skeleton).sum(axes) + self.smooth) / (skeleton.sum(axes) + self.smooth)
        loss = 1.0 - recall
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss


def focal_tversky_loss(
    input: torch.Tensor, target: torch.Tensor, *, alpha: float = 0.7, gamma: float = 0.75, smooth: float = 1.0
) -> torch.Tensor:
    """Focal Tversky loss (Abraham and Khan, ISBI 2019) per batch item and channel.

    ``TI = (TP + s) / (TP + alpha FN + (1 - alpha) FP + s)`` and ``FTL = (1 - TI) ** gamma``.

    Args:
        input: float (B, C, *spatial) probabilities.
        target: same-shape one-hot.
        alpha: weight of false negatives (0.7 in SPOCKMIP); false positives get ``1 - alpha``.
        gamma: focal exponent (0.75).
        smooth: additive smoothing ``s``.

    Returns:
        float (B, C).
    """
    axes = tuple(range(2, input.ndim))
    true_positive = (input * target).sum(axes)
    false_negative = ((1 - input) * target).sum(axes)
    false_positive = (input * (1 - target)).sum(axes)
    tversky = (true_positive + smooth) / (true_positive + alpha * false_negative + (1 - alpha) * false_positive + smooth)
    return (1.0 - tversky).clamp_min(0) ** gamma


class MIPLoss(_Loss):
    """SPOCKMIP loss (Radhakrishna et al. 2024): focal Tversky on the volume and on its MIPs.

    ``L = (1 - mip_weight) * FTL(p, y) + mip_weight * mean_axes FTL(MIP_a(p), MIP_a(y))`` with
    ``mip_weight = 0.3`` (0.7 x 3D loss + 0.3 x MIP loss), ``MIP_a`` the maximum along spatial axis
    ``a``, focal Tversky ``alpha = 0.7``, ``gamma = 0.75``.

    Args:
        axes: spatial axes (0, 1, 2 of ``(X, Y, Z)``) to project along: ``2`` for the single z-axis
            variant, ``(0, 1, 2)`` or ``"all"`` for the multi-axis one.
        mip_weight: weight of the MIP term.
        alpha, gamma: focal Tversky parameters.
        sigmoid, softmax: activation applied to ``input`` first.
    """

    def __init__(
        self, axes: int | Sequence[int] | str = 2, mip_weight: float = 0.3, alpha: float = 0.7, gamma: float = 0.75,
        sigmoid: bool = False, softmax: bool = False,
    ) -> None:
        super().__init__()
        if axes == "all":
            axes = (0, 1, 2)
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        if not axes or any(isinstance(a, bool) or a not in (0, 1, 2) for a in axes):
            raise ValueError(f"`axes` must be 0, 1, 2, a sequence of them or 'all', got {axes!r}")
        if not 0.0 <= mip_weight <= 1.0:
            raise ValueError(f"`mip_weight` must be in [0, 1], got {mip_weight!r}")
        self.axes, self.mip_weight, self.alpha, self.gamma = axes, mip_weight, alpha, gamma
        self.sigmoid, self.softmax = sigmoid, softmax

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Args: ``input`` float (B, C, X, Y, Z); ``target`` same-shape one-hot. Returns a scalar."""
        if input.shape != target.shape or input.ndim != 5:
            raise ValueError(
                f"`input` and `target` must share one shape (B, C, X, Y, Z), got {tuple(input.shape)} and {tuple(target.shape)}"
            )
        input, target = _activate(input, self.sigmoid, self.softmax), target.to(input.dtype)
        volume = focal_tversky_loss(input, target, alpha=self.alpha, gamma=self.gamma).mean()
        projections = [
            focal_tversky_loss(input.amax(dim=2 + a), target.amax(dim=2 + a), alpha=self.alpha, gamma=self.gamma).mean()
            for a in self.axes
        ]
        return (1.0 - self.mip_weight) * volume + self.mip_weight * torch.stack(projections).mean()
