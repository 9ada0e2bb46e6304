"""ESPIRiT sensitivity maps (Uecker et al., "ESPIRiT — an eigenvalue approach to autocalibrating
parallel MRI: where SENSE meets GRAPPA", MRM 71:990-1001, 2014, doi:10.1002/mrm.24751).

The calibration matrix ``A = U S V^H`` stacks every ``k x k`` multi-coil patch of the ACS region as
a row, so the patches lie in the span of the leading rows of ``V^H`` (the conjugated right singular
vectors): these rows are the kernels ``V_n`` of the signal subspace. Projecting each patch onto ``V`` and
averaging over the ``k^2`` patches that contain a k-space location is a convolution; in image space
it becomes, at each pixel ``q``, the ``C x C`` Hermitian matrix

    G(q) = (1 / k^2) * sum_n v_n(q) v_n(q)^H,   v_n(q) = sum_t V_n[:, t] exp(+2 pi i t q / N),

where ``v_n(q)`` is the (unnormalised) inverse DFT of the zero-padded kernel ``n``
(``sqrt(N) * ifftc``). Sensitivities are eigenvectors of ``G(q)`` with eigenvalue 1; outside the
object the largest eigenvalue drops, which is what ``crop`` thresholds.
"""

from __future__ import annotations

import math

import torch

from medpipe.mri.fft import ifftc

__all__ = ["espirit_maps"]


def _calibration_matrix(calibration: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Rows are flattened ``(C, k, k)`` patches of the calibration region; ``(P, C*k*k)``."""
    coils = calibration.shape[0]
    patches = calibration.unfold(1, kernel_size, 1).unfold(2, kernel_size, 1)  # (C, py, px, k, k)
    return patches.permute(1, 2, 0, 3, 4).reshape(-1, coils * kernel_size * kernel_size)


def _image_space_gram(kernels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``G(q) = (1/k^2) sum_n v_n(q) v_n(q)^H`` for all pixels, complex64 ``(H, W, C, C)``.

    ``v_n(q) v_n(q)^H`` is the image-space form of the cross-correlation of kernel ``n`` with itself
    over coil pairs, which spans only ``2k - 1`` lags. So the correlations are summed over kernels on
    that small grid first, and then ``C^2`` inverse FFTs give ``G``, instead of ``n * C`` FFTs and a
    per-pixel product: with the centred orthonormal ``ifftc``,
    ``G = sqrt(N) / k^2 * ifftc(sum_n corr_n)``, lag 0 at the image centre.
    """
    _, coils, kernel_size, _ = kernels.shape
    lags = 2 * kernel_size - 1
    spectra = torch.fft.fft2(kernels, s=(lags, lags))
    cross = torch.einsum("ncyx,ndyx->cdyx", spectra, spectra.conj())
    correlation = torch.fft.fftshift(torch.fft.ifft2(cross), dim=(-2, -1))  # lag 0 at index k - 1
    placed = torch.zeros(coils, coils, height, width, dtype=torch.complex64, device=kernels.device)
    top, left = height // 2 - (kernel_size - 1), width // 2 - (kernel_size - 1)
    placed[..., top : top + lags, left : left + lags] = correlation
    return (ifftc(placed) * (math.sqrt(height * width) / kernel_size**2)).permute(2, 3, 0, 1)


def espirit_maps(
    calibration: torch.Tensor,
    image_shape: tuple[int, int],
    *,
    kernel_size: int = 6,
    threshold: float = 0.02,
    crop: float = 0.95,
) -> torch.Tensor:
    """One set of ESPIRiT maps (the eigenvector with the largest eigenvalue) from an ACS region.

    Args:
        calibration: complex64 ACS k-space ``(C, h, w)`` (centred).
        image_shape: output size ``(H, W)``.
        kernel_size: kernel width ``k``, clipped to half the smaller side of the calibration region:
            the calibration matrix only captures shift invariance when kernels fit at several
            offsets; a 6-wide kernel in a 6-column ACS region of a fastMRI 1D mask gives maps that
            collapse (eigenvalues far below 1). Regions of 12 or more keep ``k`` as given, where the
            result equals sigpy's ``EspiritCalib``.
        threshold: keep singular vectors with ``s >= threshold * s_max``.
        crop: zero the maps where the largest eigenvalue is ``<= crop``.

    Returns:
        complex64 maps ``(C, H, W)``, unit norm over coils where kept, coil 0 real and non-negative.
    """
    coils, height, width = calibration.shape[0], *image_shape
    kernel_size = max(1, min(kernel_size, min(calibration.shape[-2:]) // 2))
    matrix = _calibration_matrix(calibration.to(torch.complex64), kernel_size)
    _, singular_values, vh = torch.linalg.svd(matrix, full_matrices=False)
    # Zeroing the discarded kernels instead of slicing them off keeps the shapes independent of the
    # data, so a traced model (``ckpt_export --use_trace``) stays valid for other k-space.
    keep = (singular_values >= threshold * singular_values[0]).to(vh.dtype)
    kernels = (vh * keep[:, None]).reshape(-1, coils, kernel_size, kernel_size)

    gram = _image_space_gram(kernels, height, width)
    gram = (gram + gram.conj().transpose(-1, -2)) / 2  # Hermitian up to FFT rounding
    # The eigen-decomposition is most of the cost. The Frobenius norm bounds the largest eigenvalue of a
    # Hermitian matrix from above, so pixels where it is <= crop would be zeroed anyway: skip them.
    frobenius_squared = torch.view_as_real(gram).square().flatten(-3).sum(-1)  # faster than matrix_norm
    candidates = frobenius_squared > crop * abs(crop)  # (H, W)
    eigenvalues, eigenvectors = torch.linalg.eigh(gram[candidates])
    vectors = eigenvectors[..., -1]  # (N, C), unit norm
    reference = vectors[..., :1]
    phase = torch.where(reference.abs() > 0, reference.conj() / reference.abs().clamp_min(1e-12), 1)
    vectors = torch.where((eigenvalues[..., -1] > crop)[..., None], vectors * phase, 0)
    maps = torch.zeros(height, width, coils, dtype=vectors.dtype, device=vectors.device)
    maps[candidates] = vectors
    return maps.permute(2, 0, 1).contiguous()
