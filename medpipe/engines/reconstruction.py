"""Training loss and evaluation metrics of the k-space reconstruction bundles.

:class:`EstimatesLoss` weights the loss of every intermediate estimate, as atommic trains RIM and CIRIM
(``process_reconstruction_loss`` of its CIRIM): per cascade, time step ``t`` of ``T`` gets
``logspace(-1, 0, T)[t] / T`` and cascade ``k`` of ``K`` gets ``logspace(-1, 0, K)[k] / K``; the
per-estimate loss is :class:`medpipe.losses.reconstruction.SSIML1Loss` (atommic's CIRIM configurations
weigh L1 0.1 and SSIM 0.9) on the bundles' (B, N, H, W) magnitudes.

:class:`ReconstructionMetric` wraps :func:`medpipe.metrics.reconstruction.reconstruction_metrics` (fastMRI's
SSIM, PSNR and NMSE per case volume) as a MONAI cumulative metric, with an optional least-squares rescaling
for references in arbitrary units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric
from torch import nn

from medpipe.losses.reconstruction import SSIML1Loss
from medpipe.metrics.reconstruction import reconstruction_metrics as fastmri_metrics

__all__ = ["EstimatesLoss", "ReconstructionMetric", "estimate_weights", "reconstruction_metrics"]


def estimate_weights(num_steps: int, num_cascades: int = 1) -> torch.Tensor:
    """Weights of ``num_cascades * num_steps`` estimates in network order, float32 (K * T,).

    ``outer(logspace(-1, 0, K), logspace(-1, 0, T)) / (K * T)``: later steps and cascades weigh more.
    """
    if num_steps < 1 or num_cascades < 1:
        raise ValueError(f"`num_steps` and `num_cascades` must be >= 1, got {num_steps} and {num_cascades}")
    steps = torch.logspace(-1, 0, num_steps) if num_steps > 1 else torch.ones(1)
    cascades = torch.logspace(-1, 0, num_cascades) if num_cascades > 1 else torch.ones(1)
    return torch.outer(cascades, steps).flatten() / (num_steps * num_cascades)


class EstimatesLoss(nn.Module):
    """Weighted SSIM + L1 loss over a network's intermediate estimates.

    Args:
        num_cascades: K, to split the N estimates into K cascades of N / K steps (1 for RIM and
            Recurrent VarNet).
        l1_weight: weight of the L1 term.
        ssim_weight: weight of the ``1 - SSIM`` term.
    """

    def __init__(self, num_cascades: int = 1, l1_weight: float = 0.1, ssim_weight: float = 0.9) -> None:
        super().__init__()
        if num_cascades < 1:
            raise ValueError(f"`num_cascades` must be >= 1, got {num_cascades}")
        self.num_cascades = num_cascades
        self.term = SSIML1Loss(ssim_weight=ssim_weight, l1_weight=l1_weight)

    def forward(self, estimates: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss.

        Args:
            estimates: float32 (B, N, H, W) magnitudes, last channel the final estimate.
            target: float32 (B, 1, H, W) reference magnitude.

        Returns:
            Scalar loss.
        """
        if estimates.ndim != 4 or target.shape != (estimates.shape[0], 1, *estimates.shape[2:]):
            raise ValueError(
                f"`estimates` (B, N, H, W) and `target` (B, 1, H, W) must match, got {tuple(estimates.shape)} "
                f"and {tuple(target.shape)}"
            )
        count = estimates.shape[1]
        if count % self.num_cascades:
            raise ValueError(f"the {count} estimates must split into num_cascades={self.num_cascades} equal groups")
        weights = estimate_weights(count // self.num_cascades, self.num_cascades).to(estimates)
        total = estimates.new_zeros(())
        for n in range(count):
            total = total + weights[n] * self.term(estimates[:, n : n + 1], target)
        return total


def _rescaled(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    denominator = float((prediction * prediction).sum())
    return prediction * (float((prediction * target).sum()) / denominator) if denominator > 0 else prediction


def reconstruction_metrics(prediction: np.ndarray, target: np.ndarray, *, rescale: bool = False) -> dict[str, float]:
    """fastMRI SSIM, PSNR and NMSE of one magnitude volume.

    Args:
        prediction: float (H, W) or (S, H, W) (slices first).
        target: same shape, the reference.
        rescale: first scale ``prediction`` by the least-squares factor onto ``target`` (for references
            in arbitrary units, e.g. a BART PICS reconstruction).

    Returns:
        ``{"ssim": ..., "psnr": ..., "nmse": ...}``.
    """
    prediction = np.asarray(prediction, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if prediction.shape != target.shape or prediction.ndim not in (2, 3):
        raise ValueError(f"`prediction` and `target` must both be (S, H, W) or (H, W), got {prediction.shape} and {target.shape}")
    if prediction.ndim == 2:
        prediction, target = prediction[None], target[None]
    if rescale:
        prediction = _rescaled(prediction, target)
    return fastmri_metrics(prediction, target)


class ReconstructionMetric(CumulativeIterationMetric):
    """SSIM, PSNR or NMSE per case as a MONAI cumulative metric (for ``IgniteMetricHandler``).

    Args:
        metric: ``"ssim"``, ``"psnr"`` or ``"nmse"``.
        rescale: see :func:`reconstruction_metrics`.
        reduction: ``"mean"`` over cases, or ``"none"``.

    ``y_pred`` and ``y`` are float (B, 1, H, W, S) (the bundles' layout) or (B, 1, H, W).
    """

    def __init__(self, metric: str = "ssim", rescale: bool = False, reduction: str = "mean") -> None:
        super().__init__()
        if metric not in ("ssim", "psnr", "nmse"):
            raise ValueError(f"`metric` must be 'ssim', 'psnr' or 'nmse', got {metric!r}")
        self.metric, self.rescale, self.reduction = metric, rescale, reduction

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        values = []
        for prediction, target in zip(y_pred, y):
            prediction, target = prediction[0].detach().cpu().numpy(), target[0].detach().cpu().numpy()
            if prediction.ndim == 3:  # (H, W, S) -> (S, H, W)
                prediction, target = np.moveaxis(prediction, -1, 0), np.moveaxis(target, -1, 0)
            values.append(reconstruction_metrics(prediction, target, rescale=self.rescale)[self.metric])
        return torch.tensor(values, dtype=torch.float32).reshape(-1, 1)

    def aggregate(self):  # type: ignore[override]
        data = self.get_buffer()
        if self.reduction == "none":
            return data
        return data.mean()


def write_phantom_dataset(
    folder: str,
    num_cases: int = 12,
    *,
    num_slices: int = 4,
    shape: tuple[int, int] = (64, 56),
    num_coils: int = 8,
    noise_stds: Sequence[float] = (0.002, 0.005, 0.01),
    seed: int = 0,
) -> list[str]:
    """Write fully sampled multi-coil phantoms as fastMRI HDF5 files, ``phantom_000.h5`` ... (deterministic).

    The training set of the reconstruction bundles' shipped weights. Case ``i`` uses seed ``seed + i``,
    noise ``noise_stds[i % len(noise_stds)]`` (several noise levels, so that the models do not learn one
    noise floor) and cycles through the T1, T1ce, T2 and FLAIR contrasts.

    Returns:
        The written paths.
    """
    import os

    from medpipe.synthetic import kspace_phantom, write_fastmri_h5

    if not noise_stds:
        raise ValueError(f"`noise_stds` must hold at least one noise level, got {noise_stds!r}")
    os.makedirs(folder, exist_ok=True)
    contrasts = ("t1", "t1ce", "t2", "flair")
    paths = []
    for i in range(num_cases):
        phantom = kspace_phantom(
            shape,
            num_coils,
            num_slices=num_slices,
            seed=seed + i,
            noise_std=float(noise_stds[i % len(noise_stds)]),
            contrast=contrasts[(i // len(noise_stds) + i) % 4],
        )
        paths.append(str(write_fastmri_h5(os.path.join(folder, f"phantom_{i:03d}.h5"), phantom)))
    return paths

