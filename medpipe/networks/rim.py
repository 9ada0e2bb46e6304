"""Recurrent Inference Machines (RIM) and Cascades of Independently Recurrent Inference Machines (CIRIM).

RIM (Putzky & Welling, 2017; Lonning et al., 2019): starting from the SENSE-combined zero-filled image
:math:`x_0`, every time step feeds the current estimate and the gradient of the log-likelihood

.. math:: \\nabla_{x} \\log p(y|x) = \\frac{1}{\\sigma^2} \\sum_c S_c^{*} F^{-1}\\bigl(M (F S_c x) - y_c\\bigr)

to a recurrent unit, which proposes an update: :math:`x_{t+1} = x_t + \\Delta_t`. The recurrent unit is
[conv 5x5 -> cell] then [conv 3x3, dilation 2 -> cell], then a bias-free conv 3x3 to 2 channels, with
GRU, MGU or IndRNN cells (Karkalousos et al., 2022, "Reconstructing unseen modalities and pathology
with an efficient Recurrent Inference Machine").

CIRIM (Karkalousos et al., 2022, "Assessment of data consistency through cascades of independently
recurrent inference machines"): several RIMs, each with its own weights, run one after the other;
the hidden states and the estimate are carried from one cascade to the next. Data consistency is
implicit (the log-likelihood gradient) by default, or an explicit soft k-space step per cascade.
"""

from __future__ import annotations

import torch
from torch import nn

from medpipe.mri.coils import sense_expand, sense_reduce
from medpipe.mri.fft import fftc, ifftc
from medpipe.mri.operators import log_likelihood_gradient
from medpipe.networks.recon_utils import channels_to_complex, check_kspace_inputs, complex_to_channels
from medpipe.networks.rnn_cells import ConvGRU, ConvMGU, ConvRecurrentUnit, IndRNN

__all__ = ["RIM", "CIRIM", "ConvGRU", "ConvMGU", "IndRNN"]


def _positive_float(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number, got {value!r}")
    return float(value)


class RIM(nn.Module):
    """Recurrent Inference Machine for multi-coil MRI reconstruction.

    Args:
        hidden_channels: channels of the convolutions and recurrent cells (64 in the papers).
        num_layers: number of [conv -> cell] layers of the recurrent unit (2 in the papers).
        num_steps: number of time steps (8 in the papers).
        cell: recurrent cell, ``"gru"``, ``"mgu"`` or ``"indrnn"``.
        sigma: noise level of the log-likelihood; the gradient is divided by ``sigma**2``.

    Example:
        >>> net = RIM(hidden_channels=8, num_steps=2, cell="indrnn")
        >>> estimates = net(masked_kspace, mask, sensitivity_maps)  # complex64 (2, B, H, W)
    """

    def __init__(
        self, hidden_channels: int = 64, num_layers: int = 2, num_steps: int = 8, cell: str = "gru", sigma: float = 1.0
    ) -> None:
        super().__init__()
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise ValueError(f"`num_steps` must be a positive int, got {num_steps!r}")
        self.num_steps = num_steps
        self.sigma = _positive_float("sigma", sigma)
        # 4 input channels: the estimate and the log-likelihood gradient, each as (real, imaginary).
        self.unit = ConvRecurrentUnit(4, 2, hidden_channels, num_layers, cell, out_bias=False)

    def iterate(
        self,
        image: torch.Tensor,
        masked_kspace: torch.Tensor,
        mask: torch.Tensor,
        sensitivity_maps: torch.Tensor,
        hidden: list[torch.Tensor] | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Run ``num_steps`` updates from a given estimate and hidden state (used by :class:`CIRIM`).

        Args:
            image: current estimate, complex64 (B, H, W).
            masked_kspace: complex64 (B, C, H, W).
            mask: broadcastable to (B, C, H, W).
            sensitivity_maps: complex64 (B, C, H, W).
            hidden: hidden states from a previous run, ``num_layers`` x float (B, hidden_channels, H, W).

        Returns:
            The estimate after every step (``num_steps`` x complex64 (B, H, W)) and the final hidden states.
        """
        estimates = []
        for _ in range(self.num_steps):
            gradient = log_likelihood_gradient(image, masked_kspace, sensitivity_maps, mask, sigma=self.sigma)
            features = torch.cat([complex_to_channels(image), complex_to_channels(gradient)], dim=1)
            delta, hidden = self.unit(features, hidden)
            image = image + channels_to_complex(delta).squeeze(1)
            estimates.append(image)
        return estimates, hidden

    def forward(
        self,
        masked_kspace: torch.Tensor,
        mask: torch.Tensor,
        sensitivity_maps: torch.Tensor,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Reconstruct.

        Args:
            masked_kspace: undersampled k-space, complex64 (B, C, H, W), zero where not sampled.
            mask: sampling mask, bool or float broadcastable to (B, C, H, W).
            sensitivity_maps: coil sensitivities, complex64 (B, C, H, W), sum over coils of |S|^2 = 1.
            image: initial estimate, complex64 (B, H, W); the SENSE-combined zero-filled image when None.

        Returns:
            The estimate after every time step, complex64 (num_steps, B, H, W); the last one is the result.
        """
        check_kspace_inputs(masked_kspace, mask, sensitivity_maps)
        if image is None:
            image = sense_reduce(ifftc(masked_kspace), sensitivity_maps)
        estimates, _ = self.iterate(image, masked_kspace, mask, sensitivity_maps)
        return torch.stack(estimates)


class CIRIM(nn.Module):
    """Cascades of Independently Recurrent Inference Machines.

    Args:
        hidden_channels: channels of the convolutions and recurrent cells (64 or 128 in the paper).
        num_layers: number of [conv -> cell] layers of every RIM.
        num_steps: time steps per cascade (8 in the paper).
        num_cascades: number of RIMs, each with its own weights (5 in the paper).
        cell: recurrent cell, ``"gru"``, ``"mgu"`` or ``"indrnn"`` (the paper's CIRIM uses IndRNN).
        implicit_dc: data consistency only through the log-likelihood gradient (the paper's best). When
            False, every estimate also gets an explicit soft data-consistency step in k-space,
            :math:`k = F S x;\\ x \\leftarrow S^{H} F^{-1}(k - \\lambda_c M (k - y))`, with one learnable
            :math:`\\lambda_c` per cascade.
        sigma: noise level of the log-likelihood.
    """

    def __init__(
        self,
        hidden_channels: int = 64,
        num_layers: int = 2,
        num_steps: int = 8,
        num_cascades: int = 5,
        cell: str = "indrnn",
        implicit_dc: bool = True,
        sigma: float = 1.0,
    ) -> None:
        super().__init__()
        if isinstance(num_cascades, bool) or not isinstance(num_cascades, int) or num_cascades < 1:
            raise ValueError(f"`num_cascades` must be a positive int, got {num_cascades!r}")
        if not isinstance(implicit_dc, bool):
            raise TypeError(f"`implicit_dc` must be a bool, got {type(implicit_dc).__name__}")
        self.implicit_dc = implicit_dc
        self.cascades = nn.ModuleList(
            RIM(hidden_channels, num_layers, num_steps, cell, sigma) for _ in range(num_cascades)
        )
        self.dc_weights = None if implicit_dc else nn.Parameter(torch.ones(num_cascades))

    def _soft_dc(
        self, image: torch.Tensor, masked_kspace: torch.Tensor, mask: torch.Tensor, sensitivity_maps: torch.Tensor, k: int
    ) -> torch.Tensor:
        kspace = fftc(sense_expand(image, sensitivity_maps))
        kspace = kspace - self.dc_weights[k] * mask * (kspace - masked_kspace)
        return sense_reduce(ifftc(kspace), sensitivity_maps)

    def forward(
        self,
        masked_kspace: torch.Tensor,
        mask: torch.Tensor,
        sensitivity_maps: torch.Tensor,
        image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Reconstruct.

        Args:
            masked_kspace: undersampled k-space, complex64 (B, C, H, W), zero where not sampled.
            mask: sampling mask, bool or float broadcastable to (B, C, H, W).
            sensitivity_maps: coil sensitivities, complex64 (B, C, H, W), sum over coils of |S|^2 = 1.
            image: initial estimate, complex64 (B, H, W); the SENSE-combined zero-filled image when None.

        Returns:
            Every estimate, complex64 (num_cascades, num_steps, B, H, W); ``[-1, -1]`` is the result.
        """
        check_kspace_inputs(masked_kspace, mask, sensitivity_maps)
        if image is None:
            image = sense_reduce(ifftc(masked_kspace), sensitivity_maps)
        hidden = None
        per_cascade = []
        for k, rim in enumerate(self.cascades):
            estimates, hidden = rim.iterate(image, masked_kspace, mask, sensitivity_maps, hidden)
            if self.dc_weights is not None:
                estimates = [self._soft_dc(e, masked_kspace, mask, sensitivity_maps, k) for e in estimates]
            per_cascade.append(torch.stack(estimates))
            image = estimates[-1]
        return torch.stack(per_cascade)
