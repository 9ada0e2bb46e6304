"""Reconstruction losses: SSIM + L1 on magnitudes, and weights over time steps and cascades.

The RIM and CIRIM are trained on every intermediate estimate, with later steps weighted more:
``w = logspace(-1, 0, n)`` (0.1 ... 1) over the ``n`` time steps, as in atommic / mridc (Karkalousos
et al., "Assessment of data consistency through cascades of independently recurrent inference
machines for fast and robust accelerated MRI reconstruction", Phys. Med. Biol. 2022).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from monai.losses import SSIMLoss
from torch import nn

__all__ = ["SSIML1Loss", "time_step_weights", "weighted_step_loss"]


def time_step_weights(n: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """Loss weights over ``n`` recurrent steps (or cascades): ``logspace(-1, 0, n)``, float32 ``(n,)``.

    Exactly as the references compute it, so ``n = 1`` gives ``[0.1]``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"`n` must be a positive int, got {n!r}")
    return torch.logspace(-1, 0, steps=n, device=device)


def _magnitude_batch(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    x = x.abs() if x.is_complex() else x
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim not in (4, 5):
        raise ValueError(f"`{name}` must have shape (B, H, W), (B, 1, H, W) or (B, 1, D, H, W), got {tuple(x.shape)}")
    return x


class SSIML1Loss(nn.Module):
    """``ssim_weight * (1 - SSIM) + l1_weight * L1`` on magnitude images.

    Both images are divided by the per-sample maximum of the target first, so the SSIM is computed
    with ``data_range = max(target)`` (the fastMRI convention; SSIM is invariant to scaling image and
    range together) and the L1 term does not depend on the arbitrary k-space scale. SSIM comes from
    MONAI's :class:`monai.losses.SSIMLoss` with a 7 x 7 uniform window, ``K1 = 0.01``, ``K2 = 0.03``
    as in fastMRI's SSIM loss. Equal weights of 1 follow DIRECT's RIM configurations.

    Args:
        ssim_weight: weight of ``1 - SSIM``.
        l1_weight: weight of the L1 term.
        win_size: SSIM window side.
        spatial_dims: 2, or 3 for volumes ``(B, 1, D, H, W)``.

    Shapes:
        ``pred`` and ``target``: real or complex ``(B, H, W)``, ``(B, 1, H, W)`` or
        ``(B, 1, D, H, W)``; complex input is reduced to its magnitude. Returns a scalar.
    """

    def __init__(self, ssim_weight: float = 1.0, l1_weight: float = 1.0, win_size: int = 7, spatial_dims: int = 2) -> None:
        super().__init__()
        if ssim_weight < 0 or l1_weight < 0 or ssim_weight + l1_weight == 0:
            raise ValueError(
                f"`ssim_weight` and `l1_weight` must be >= 0 and not both 0, got {ssim_weight} and {l1_weight}"
            )
        self.ssim_weight, self.l1_weight = float(ssim_weight), float(l1_weight)
        self.ssim = SSIMLoss(spatial_dims=spatial_dims, data_range=1.0, kernel_type="uniform", win_size=win_size)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = _magnitude_batch(pred, "pred"), _magnitude_batch(target, "target")
        if pred.shape != target.shape:
            raise ValueError(f"`pred` and `target` must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
        scale = target.detach().flatten(1).amax(dim=1).clamp_min(torch.finfo(target.dtype).tiny)
        scale = scale.view(-1, *([1] * (target.ndim - 1)))
        pred, target = pred / scale, target / scale
        loss = pred.new_zeros(())
        if self.ssim_weight:
            loss = loss + self.ssim_weight * self.ssim(pred, target)
        if self.l1_weight:
            loss = loss + self.l1_weight * torch.mean(torch.abs(pred - target))
        return loss


def weighted_step_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    predictions: Sequence[torch.Tensor] | Sequence[Sequence[torch.Tensor]],
    target: torch.Tensor,
) -> torch.Tensor:
    """Loss over all intermediate estimates of a recurrent (or cascaded) reconstruction.

    For one list of ``T`` step estimates: ``sum_t w_t * loss_fn(pred_t, target) / T`` with
    ``w = time_step_weights(T)``. For a list of cascades, each a list of steps, the cascade losses
    computed that way are averaged (mridc / atommic CIRIM convention). A bare tensor is one estimate.

    Args:
        loss_fn: ``loss_fn(pred, target) -> scalar``, e.g. :class:`SSIML1Loss`.
        predictions: ``[pred_1, ..., pred_T]`` or ``[[cascade 1 steps], [cascade 2 steps], ...]``.
        target: the reference passed to ``loss_fn``.

    Returns:
        scalar tensor.
    """
    if isinstance(predictions, torch.Tensor):
        return loss_fn(predictions, target)
    if not isinstance(predictions, Sequence) or len(predictions) == 0:
        raise ValueError(f"`predictions` must be a non-empty list of tensors or of lists, got {type(predictions).__name__}")
    if all(isinstance(p, torch.Tensor) for p in predictions):
        weights = time_step_weights(len(predictions), device=target.device)
        return sum(w * loss_fn(p, target) for w, p in zip(weights, predictions)) / len(predictions)
    if all(isinstance(p, Sequence) and not isinstance(p, torch.Tensor) for p in predictions):
        return sum(weighted_step_loss(loss_fn, cascade, target) for cascade in predictions) / len(predictions)
    raise ValueError("`predictions` must be a list of tensors (steps) or a list of lists (cascades of steps), not a mix")
