"""Reconstruction baselines: zero-filled and compressed sensing (ESPIRiT + L1-wavelet).

Compressed sensing solves, per slice (Lustig et al., "Sparse MRI", MRM 58:1182, 2007)::

    x = argmin_x 1/2 ||M F S x - y||_2^2 + lambda ||W x||_1

with ESPIRiT maps ``S``, a Daubechies-4 wavelet ``W`` and
:class:`sigpy.mri.app.L1WaveletRecon` (FISTA) on the CPU. The data term scales with the square of the
k-space and the penalty linearly, so a fixed ``lambda`` would regularise loud and quiet scans
differently; medpipe sets ``lambda = relative_lambda * max|A^H y|``, the maximum magnitude of the
zero-filled SENSE image, which makes the solution scale with the data. The default
``relative_lambda = 1e-3`` scored best of {3e-4, 1e-3, 3e-3, 1e-2} against BART's PICS
reconstruction of the real 8-coil brain slice (``tests/mri/test_cs.py``); ``benchmarks/recon.py``
tunes it per mask and acceleration on a validation phantom instead (low-noise phantoms prefer
smaller values at 4x).

The maps come from :func:`medpipe.mri.estimate_sensitivities` with ``method="espirit"``, which
equals :class:`sigpy.mri.app.EspiritCalib` on square calibration regions (``tests/mri/test_coils.py``)
and, unlike it, also calibrates on the full rectangular ACS region of 1D column masks, where a square
would be only a few columns wide.

sigpy is a test and benchmark dependency only; it is imported when the CS baseline is called.
"""

from __future__ import annotations

import numpy as np
import torch

from medpipe.mri.coils import estimate_sensitivities, rss
from medpipe.mri.fft import ifftc
from medpipe.mri.layout import as_complex_tensor, check_finite
from medpipe.mri.operators import _as_mask, sense_adjoint

__all__ = ["cs_reconstruction", "zero_filled"]


def _batched(kspace, name: str = "kspace") -> tuple[torch.Tensor, bool]:
    kspace = check_finite(as_complex_tensor(kspace, name), name)
    if kspace.ndim == 3:
        return kspace.unsqueeze(0), True
    if kspace.ndim != 4:
        raise ValueError(f"`{name}` must have shape (B, C, H, W) or (C, H, W), got {tuple(kspace.shape)}")
    return kspace, False


def zero_filled(kspace, *, sens=None) -> torch.Tensor:
    """Zero-filled reconstruction: RSS of the inverse FFT, or ``|A^H y|`` when maps are given.

    Args:
        kspace: complex64 undersampled k-space ``(B, C, H, W)`` or ``(C, H, W)`` (zeros where not
            sampled).
        sens: optional complex64 maps of the same shape; the SENSE-combined magnitude is returned.

    Returns:
        float32 magnitude ``(B, H, W)`` or ``(H, W)``.
    """
    batch, unbatched = _batched(kspace)
    if sens is None:
        image = rss(ifftc(batch), coil_dim=1)
    else:
        maps = as_complex_tensor(sens, "sens")
        maps = maps.unsqueeze(0) if unbatched else maps
        image = sense_adjoint(batch, maps, torch.ones(())).abs()
    return image[0] if unbatched else image


def _import_sigpy():
    try:
        import sigpy
        import sigpy.mri
    except ImportError as error:  # pragma: no cover - exercised only where sigpy is missing
        raise ImportError(
            "the compressed-sensing baseline needs sigpy, a test/benchmark dependency: pip install sigpy"
        ) from error
    return sigpy, sigpy.mri


def cs_reconstruction(
    kspace,
    *,
    mask=None,
    sens=None,
    relative_lambda: float = 1e-3,
    acs_lines=None,
    max_iter: int = 60,
    wavelet: str = "db4",
) -> torch.Tensor:
    """Compressed-sensing reconstruction (ESPIRiT maps + L1-wavelet), one slice at a time on the CPU.

    Args:
        kspace: complex64 undersampled k-space ``(B, C, H, W)`` or ``(C, H, W)``.
        mask: sampling mask broadcastable to ``kspace``; default: where any coil is non-zero.
        sens: optional maps of the shape of ``kspace``; default: ESPIRiT maps estimated from the
            ACS region (see :func:`medpipe.mri.estimate_sensitivities`).
        relative_lambda: ``lambda / max|A^H y|`` per slice.
        acs_lines: ACS region passed to :func:`medpipe.mri.estimate_sensitivities` (default:
            the largest fully sampled centred rectangle).
        max_iter: FISTA iterations.
        wavelet: PyWavelets name.

    Returns:
        complex64 image ``(B, H, W)`` or ``(H, W)``, on the scale of the SENSE-combined image.

    Raises:
        ImportError: when sigpy is not installed.
        ValueError: for a bad shape, a non-positive ``relative_lambda``, NaN in k-space or a mask
            that does not broadcast.
    """
    if not relative_lambda > 0:
        raise ValueError(f"`relative_lambda` must be > 0, got {relative_lambda!r}")
    batch, unbatched = _batched(kspace)
    if mask is None:
        weights = (batch.abs() > 0).any(dim=1, keepdim=True).float()
    else:
        weights = _as_mask(mask, batch).expand_as(batch)[:, :1].float()
    if sens is None:
        maps = estimate_sensitivities(batch * weights, acs_lines=acs_lines, method="espirit")
    else:
        maps = as_complex_tensor(sens, "sens")
        maps = maps.unsqueeze(0) if unbatched else maps
        if maps.shape != batch.shape:
            raise ValueError(f"`sens` must have the shape of `kspace` {tuple(batch.shape)}, got {tuple(maps.shape)}")
    _, sigpy_mri = _import_sigpy()
    images = []
    for index in range(batch.shape[0]):
        y = batch[index].numpy().astype(np.complex64)
        w = weights[index, 0].numpy().astype(np.float32)
        slice_maps = maps[index].numpy()
        adjoint = sense_adjoint(torch.from_numpy(y * w)[None], torch.from_numpy(np.asarray(slice_maps))[None], torch.ones(()))
        lamda = relative_lambda * float(adjoint.abs().max())
        image = sigpy_mri.app.L1WaveletRecon(
            y * w, slice_maps, lamda, weights=w, wave_name=wavelet, max_iter=max_iter, show_pbar=False
        ).run()
        images.append(torch.from_numpy(np.asarray(image, dtype=np.complex64)))
    result = torch.stack(images)
    return result[0] if unbatched else result
