"""Learned refinement of coil sensitivity maps: one 2D U-Net applied to every coil, then normalisation.

DIRECT trains such a model jointly with RIM and Recurrent VarNet (its ``sensitivity_model``, a U-Net with
8 base filters and 4 poolings): every coil's map, as (real, imaginary) channels, goes through the same
U-Net, and the result is divided by the root sum of squares over coils so that sum_c |S_c|^2 = 1.
Its parameters are not part of the reconstruction networks' reference counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from monai.networks.nets import BasicUNet
from torch import nn

from medpipe.networks.recon_utils import channels_to_complex, complex_to_channels

__all__ = ["SensitivityRefinement"]


class SensitivityRefinement(nn.Module):
    """Per-coil U-Net refinement of sensitivity maps.

    Args:
        features: the six feature counts of MONAI's ``BasicUNet`` (four poolings); the default mirrors
            DIRECT's 8-filter U-Net.
        dropout: dropout probability inside the U-Net.
        eps: floor of the root sum of squares used for normalisation.

    Example:
        >>> refine = SensitivityRefinement()
        >>> maps = refine(sensitivity_maps)  # complex64 (B, C, H, W), sum over coils of |S|^2 = 1
    """

    def __init__(
        self, features: Sequence[int] = (8, 16, 32, 64, 128, 8), dropout: float = 0.0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        features = tuple(features)
        if len(features) != 6:
            raise ValueError(f"`features` must hold 6 ints (BasicUNet), got {features}")
        self.eps = float(eps)
        self.unet = BasicUNet(spatial_dims=2, in_channels=2, out_channels=2, features=features, dropout=dropout)
        # BasicUNet pools four times and instance-normalises its 1/16-size bottleneck, which needs more than
        # one pixel: inputs are replicate-padded to a multiple of 16 of at least 32, and cropped back.
        self.multiple, self.minimum = 16, 32

    def forward(self, sensitivity_maps: torch.Tensor) -> torch.Tensor:
        """Refine and normalise.

        Args:
            sensitivity_maps: complex64 (B, C, H, W), e.g. estimated from the auto-calibration lines.

        Returns:
            Refined maps, complex64 (B, C, H, W), with sum over coils of |S|^2 = 1 wherever it is non-zero.

        Raises:
            TypeError: when the maps are not a complex tensor.
            ValueError: when they are not 4D.
        """
        if not isinstance(sensitivity_maps, torch.Tensor) or not sensitivity_maps.is_complex():
            got = sensitivity_maps.dtype if isinstance(sensitivity_maps, torch.Tensor) else type(sensitivity_maps)
            raise TypeError(f"`sensitivity_maps` must be a complex tensor (B, C, H, W), got {got}")
        if sensitivity_maps.ndim != 4:
            raise ValueError(f"`sensitivity_maps` must have shape (B, C, H, W), got {tuple(sensitivity_maps.shape)}")
        batch, coils, height, width = sensitivity_maps.shape
        per_coil = complex_to_channels(sensitivity_maps.reshape(batch * coils, height, width))
        pad_h, pad_w = (max(self.minimum, n + (-n) % self.multiple) - n for n in (height, width))
        per_coil = F.pad(per_coil, (0, pad_w, 0, pad_h), mode="replicate")
        refined = self.unet(per_coil)[..., :height, :width]
        refined = channels_to_complex(refined).reshape(batch, coils, height, width)
        norm = torch.sqrt((refined.abs() ** 2).sum(dim=1, keepdim=True)).clamp_min(self.eps)
        return refined / norm
