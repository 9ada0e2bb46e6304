r"""Recurrent Variational Network (Yiasemis et al., CVPR 2022).

An unrolled gradient scheme in k-space with one block per step:

.. math:: k_{t+1} = k_t - \alpha_t M (k_t - y) + F\bigl(E(w_t)\bigr),\qquad
          (w_t, h_{t+1}) = H_{\theta_t}\bigl(R(F^{-1} k_t), h_t\bigr),

where :math:`E` expands an image to coil images with the sensitivities, :math:`R` reduces coil images to one
image, :math:`H_{\theta_t}` is a convolutional GRU unit and :math:`\alpha_t` is learned. The first hidden
state :math:`h_0` comes from a learned recurrent-state initialiser (RSI) fed with the k-space of the
SENSE image; the output is the root sum of squares of :math:`F^{-1} k_T`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medpipe.mri.coils import rss, sense_expand, sense_reduce
from medpipe.mri.fft import fftc, ifftc
from medpipe.networks.recon_utils import channels_to_complex, check_kspace_inputs, complex_to_channels
from medpipe.networks.rnn_cells import ConvRecurrentUnit

__all__ = ["RecurrentVarNet", "RecurrentStateInitializer"]


class RecurrentStateInitializer(nn.Module):
    """Recurrent-state initialiser: multi-scale context aggregation with dilated convolutions (Yu & Koltun, 2016).

    3x3 convolutions with replication padding and ReLU, one per entry of ``channels``/``dilations``; the
    last ``multiscale_depth`` feature maps are concatenated and a 1x1 convolution + ReLU per recurrent layer
    gives that layer's initial hidden state.

    Args:
        in_channels: channels of the input (2 for one complex image).
        out_channels: hidden channels of the recurrent unit.
        num_layers: number of recurrent layers to initialise.
        channels: channels of the dilated convolutions.
        dilations: their dilations, same length as ``channels``.
        multiscale_depth: how many of the last feature maps to concatenate (1 disables aggregation).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_layers: int,
        channels: Sequence[int] = (32, 32, 64, 64),
        dilations: Sequence[int] = (1, 1, 2, 4),
        multiscale_depth: int = 1,
    ) -> None:
        super().__init__()
        channels, dilations = list(channels), list(dilations)
        if not channels or len(channels) != len(dilations):
            raise ValueError(
                f"`channels` and `dilations` must be non-empty and of equal length, got {channels} and {dilations}"
            )
        if isinstance(multiscale_depth, bool) or not isinstance(multiscale_depth, int) or not (
            1 <= multiscale_depth <= len(channels)
        ):
            raise ValueError(f"`multiscale_depth` must be an int in [1, {len(channels)}], got {multiscale_depth!r}")
        self.multiscale_depth = multiscale_depth
        self.convs = nn.ModuleList()
        previous = in_channels
        for width, dilation in zip(channels, dilations):
            self.convs.append(
                nn.Sequential(nn.ReplicationPad2d(dilation), nn.Conv2d(previous, width, 3, dilation=dilation))
            )
            previous = width
        aggregated = sum(channels[-multiscale_depth:])
        self.heads = nn.ModuleList(nn.Conv2d(aggregated, out_channels, 1) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Initial hidden states from ``x``, float (B, in_channels, H, W): ``num_layers`` x (B, out, H, W)."""
        features = []
        for conv in self.convs:
            x = torch.relu(conv(x))
            features.append(x)
        x = torch.cat(features[-self.multiscale_depth :], dim=1)
        return [torch.relu(head(x)) for head in self.heads]


class RecurrentVarNet(nn.Module):
    """Recurrent Variational Network for multi-coil MRI reconstruction.

    Args:
        num_steps: number of unrolled steps :math:`T` (8 in the paper's final models).
        hidden_channels: channels of the recurrent unit (96 fastMRI, 128 Calgary-Campinas).
        num_layers: [conv -> GRU] layers of the recurrent unit (3 fastMRI, 4 Calgary-Campinas).
        learned_initializer: use the recurrent-state initialiser (RSI); zero hidden states otherwise.
        initializer_channels: channels of the RSI's dilated convolutions.
        initializer_dilations: dilations of the RSI's convolutions.
        initializer_multiscale: RSI multi-scale aggregation depth (3 in the paper's configurations).
        shared_weights: one block for all steps instead of one block per step.

    Example:
        >>> net = RecurrentVarNet(num_steps=2, hidden_channels=8, num_layers=2)
        >>> image = net(masked_kspace, mask, sensitivity_maps)  # float32 (B, H, W)
    """

    def __init__(
        self,
        num_steps: int = 8,
        hidden_channels: int = 64,
        num_layers: int = 4,
        learned_initializer: bool = True,
        initializer_channels: Sequence[int] = (32, 32, 64, 64),
        initializer_dilations: Sequence[int] = (1, 1, 2, 4),
        initializer_multiscale: int = 1,
        shared_weights: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise ValueError(f"`num_steps` must be a positive int, got {num_steps!r}")
        self.num_steps = num_steps
        self.initializer = (
            RecurrentStateInitializer(
                2, hidden_channels, num_layers, initializer_channels, initializer_dilations, initializer_multiscale
            )
            if learned_initializer
            else None
        )
        # DIRECT's regulariser: ReLU on each hidden state before the next convolution, reset gate before the
        # hidden convolution, bias on the output convolution.
        self.units = nn.ModuleList(
            ConvRecurrentUnit(
                2, 2, hidden_channels, num_layers, "gru", out_bias=True, hidden_activation=True, gru_reset_after=False
            )
            for _ in range(1 if shared_weights else num_steps)
        )
        self.step_sizes = nn.Parameter(torch.ones(len(self.units)))

    def reconstruct_kspace(
        self, masked_kspace: torch.Tensor, mask: torch.Tensor, sensitivity_maps: torch.Tensor
    ) -> torch.Tensor:
        """The refined multi-coil k-space :math:`k_T`, complex64 (B, C, H, W); arguments as :meth:`forward`."""
        check_kspace_inputs(masked_kspace, mask, sensitivity_maps)
        hidden = None
        if self.initializer is not None:
            sense_image = sense_reduce(ifftc(masked_kspace), sensitivity_maps)
            hidden = self.initializer(complex_to_channels(fftc(sense_image)))
        kspace = masked_kspace
        for step in range(self.num_steps):
            index = step if len(self.units) > 1 else 0
            image = sense_reduce(ifftc(kspace), sensitivity_maps)
            update, hidden = self.units[index](complex_to_channels(image), hidden)
            update = fftc(sense_expand(channels_to_complex(update).squeeze(1), sensitivity_maps))
            kspace = kspace - self.step_sizes[index] * mask * (kspace - masked_kspace) + update
        return kspace

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor, sensitivity_maps: torch.Tensor) -> torch.Tensor:
        """Reconstruct.

        Args:
            masked_kspace: undersampled k-space, complex64 (B, C, H, W), zero where not sampled.
            mask: sampling mask, bool or float broadcastable to (B, C, H, W).
            sensitivity_maps: coil sensitivities, complex64 (B, C, H, W), sum over coils of |S|^2 = 1.

        Returns:
            The root-sum-of-squares image of the refined k-space, float32 (B, H, W).
        """
        return rss(ifftc(self.reconstruct_kspace(masked_kspace, mask, sensitivity_maps)), coil_dim=1)
