"""One-tensor front end for the k-space reconstruction networks, as bundles and MONAI engines call them.

MONAI's engines, inferers and ``verify_net_in_out`` call ``network(image)`` with one real tensor. The
reconstruction networks need the physics instead: masked k-space, its sampling mask and coil
sensitivities. :class:`MultiCoilReconstructor` turns the first into the second:

* the input is the undersampled multi-coil k-space as real channels (real parts of the C coils, then
  their imaginary parts), float32 (B, 2C, H, W), zero where not sampled;
* the mask is where any coil is non-zero;
* the sensitivities are estimated from the fully sampled centre (:func:`medpipe.mri.estimate_sensitivities`);
* every slice is scaled by the 99th percentile of its zero-filled RSS image before the network (the
  networks are trained at unit scale), and the output is scaled back;
* the output is the magnitude of the final estimate, float32 (B, 1, H, W), in the input's units.
"""

from __future__ import annotations

import torch
from torch import nn

from medpipe.mri.coils import estimate_sensitivities, rss
from medpipe.mri.fft import ifftc
from medpipe.networks.recon_utils import channels_to_complex

__all__ = ["MultiCoilReconstructor", "estimates_magnitude"]


def estimates_magnitude(output: torch.Tensor) -> torch.Tensor:
    """Every estimate of a reconstruction network as magnitudes, float32 (B, N, H, W).

    Args:
        output: what :class:`~medpipe.networks.RIM` (complex (T, B, H, W)),
            :class:`~medpipe.networks.CIRIM` (complex (K, T, B, H, W)) or
            :class:`~medpipe.networks.RecurrentVarNet` (real (B, H, W)) return.

    Returns:
        float32 (B, N, H, W), the last channel being the final estimate (N = T, K * T or 1).
    """
    if not output.is_complex():
        if output.ndim != 3:
            raise ValueError(f"a real network output must be (B, H, W), got {tuple(output.shape)}")
        return output.unsqueeze(1)
    if output.ndim not in (4, 5):
        raise ValueError(f"a complex network output must be (T, B, H, W) or (K, T, B, H, W), got {tuple(output.shape)}")
    magnitudes = output.abs().reshape(-1, *output.shape[-3:])
    return magnitudes.transpose(0, 1)


class MultiCoilReconstructor(nn.Module):
    """Multi-coil k-space channels in, magnitude image out, around a reconstruction network.

    Args:
        network: a :class:`~medpipe.networks.RIM`, :class:`~medpipe.networks.CIRIM` or
            :class:`~medpipe.networks.RecurrentVarNet` (anything with
            ``network(masked_kspace, mask, sensitivity_maps)``).
        sensitivity_method: ``"lowres"`` or ``"espirit"`` (see :func:`medpipe.mri.estimate_sensitivities`).
        acs_lines: the calibration region, or None to detect it from the sampling pattern.
        all_estimates: return the magnitude of every intermediate estimate, float32 (B, N, H, W), last
            channel final (for losses weighted over time steps and cascades); else only the final one.
        sensitivity_model: optional module refining the estimated maps (e.g.
            :class:`medpipe.networks.sensitivity.SensitivityRefinement`), trained jointly.

    Example:
        >>> model = MultiCoilReconstructor(RIM(hidden_channels=16, num_steps=4, cell="indrnn"))
        >>> magnitude = model(torch.cat([kspace.real, kspace.imag], dim=1))  # (B, 1, H, W)
    """

    def __init__(
        self,
        network: nn.Module,
        sensitivity_method: str = "lowres",
        acs_lines: int | tuple[int, int] | None = None,
        all_estimates: bool = False,
        sensitivity_model: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(network, nn.Module):
            raise TypeError(f"`network` must be a torch.nn.Module, got {type(network).__name__}")
        if sensitivity_method not in ("lowres", "espirit"):
            raise ValueError(f"`sensitivity_method` must be 'lowres' or 'espirit', got {sensitivity_method!r}")
        self.network = network
        self.sensitivity_method = sensitivity_method
        self.acs_lines = acs_lines
        self.all_estimates = bool(all_estimates)
        self.sensitivity_model = sensitivity_model

    def physics(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scaled masked k-space, mask, sensitivities and per-slice scale from the input channels.

        Args:
            image: float32 (B, 2C, H, W), real then imaginary parts of the undersampled k-space.

        Returns:
            ``(masked_kspace complex64 (B, C, H, W), mask float32 (B, 1, H, W),
            sensitivity_maps complex64 (B, C, H, W), scale float32 (B, 1, 1, 1))``.
        """
        if image.ndim != 4 or image.shape[1] % 2 or image.is_complex():
            raise ValueError(
                f"`image` must be real k-space channels (B, 2C, H, W) (real parts, then imaginary), "
                f"got {tuple(image.shape)} {image.dtype}"
            )
        kspace = channels_to_complex(image.float())
        mask = (kspace.abs() > 0).any(dim=1, keepdim=True).float()
        with torch.no_grad():
            zero_filled = rss(ifftc(kspace), coil_dim=1).flatten(1)
            scale = torch.quantile(zero_filled, 0.99, dim=1).clamp_min(1e-12).reshape(-1, 1, 1, 1)
            sens = estimate_sensitivities(kspace.detach(), acs_lines=self.acs_lines, method=self.sensitivity_method)
        if self.sensitivity_model is not None:
            sens = self.sensitivity_model(sens)
        return kspace / scale, mask, sens, scale

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Reconstruct.

        Args:
            image: float32 (B, 2C, H, W): real parts of the C coils' undersampled k-space, then imaginary
                parts; exact zeros where not sampled.

        Returns:
            float32 (B, 1, H, W), the magnitude of the final estimate in the input's units; with
            ``all_estimates``, (B, N, H, W) for every estimate.
        """
        kspace, mask, sens, scale = self.physics(image)
        magnitudes = estimates_magnitude(self.network(kspace, mask, sens)) * scale
        return magnitudes if self.all_estimates else magnitudes[:, -1:]
