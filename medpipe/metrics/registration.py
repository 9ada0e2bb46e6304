"""Registration quality: Jacobian determinant of a displacement field, folding, volume change.

Displacement fields follow medpipe's convention (DESIGN.md): ``(ndim, *spatial)`` or
``(B, ndim, *spatial)``, in voxels, with ``fixed(x) ≈ moving(x + ddf(x))``. The mapping
``phi(x) = x + ddf(x)`` has Jacobian ``J = I + ∇ddf``; ``det J < 0`` marks folding, and
``det J`` is the local volume ratio between the moving and the fixed image.
"""

from __future__ import annotations

import numpy as np

__all__ = ["jacobian_determinant", "folding_fraction", "volume_ratio"]


def _as_numpy(array) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def jacobian_determinant(ddf, *, spacing=None) -> np.ndarray:
    """Determinant of the Jacobian of ``x -> x + ddf(x)``, by central differences.

    Args:
        ddf: float (ndim, *spatial) or (B, ndim, *spatial), displacement in voxels; ndim is 2 or 3
            and equals the number of spatial axes.
        spacing: voxel spacing when ``ddf`` is in millimetres (it is converted to voxels first);
            leave ``None`` for displacements in voxels. The determinant is the same in voxel and
            physical coordinates, so it is unit-free.

    Returns:
        float64 (*spatial) or (B, *spatial): the determinant at every voxel (1 = volume kept,
        > 1 expansion, < 1 contraction, <= 0 folding).

    Raises:
        ValueError: when the shape is not a displacement field or holds NaN.
    """
    field = _as_numpy(ddf).astype(np.float64)
    batched = field.ndim in (4, 5) and field.shape[1] == field.ndim - 2
    if not batched:
        if field.ndim not in (3, 4) or field.shape[0] != field.ndim - 1:
            raise ValueError(
                f"`ddf` must have shape (ndim, *spatial) or (B, ndim, *spatial) with ndim equal to the "
                f"number of spatial axes (2 or 3), got {field.shape}"
            )
        field = field[None]
    if not np.isfinite(field).all():
        raise ValueError("`ddf` must be finite, got NaN or inf values")
    ndim = field.shape[1]
    scale = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=np.float64)
    if scale.shape != (ndim,):
        raise ValueError(f"`spacing` must have {ndim} values, got {spacing!r}")
    out = np.empty((field.shape[0],) + field.shape[2:])
    for b in range(field.shape[0]):
        # jac[i, j] = d phi_i / d x_j = delta_ij + d u_i / d x_j
        jac = np.empty((ndim, ndim) + field.shape[2:])
        for i in range(ndim):
            grads = np.gradient(field[b, i] / scale[i], axis=tuple(range(ndim)))
            for j in range(ndim):
                jac[i, j] = grads[j] + (1.0 if i == j else 0.0)
        out[b] = np.linalg.det(np.moveaxis(jac, (0, 1), (-2, -1)))
    return out if batched else out[0]


def folding_fraction(ddf, *, mask=None) -> float:
    """Fraction of voxels (inside ``mask`` when given) where the Jacobian determinant is <= 0.

    Args:
        ddf: float (ndim, *spatial), displacement in voxels.
        mask: optional bool (*spatial) region of interest.

    Returns:
        A value in [0, 1]; 0 for a diffeomorphic (fold-free) field.
    """
    det = jacobian_determinant(ddf)
    if mask is None:
        return float(np.mean(det <= 0))
    region = _as_numpy(mask).astype(bool)
    if region.shape != det.shape:
        raise ValueError(f"`mask` must have the spatial shape {det.shape}, got {region.shape}")
    return float(np.mean(det[region] <= 0)) if region.any() else 0.0


def volume_ratio(fixed_mask, moving_mask) -> float:
    """Volume of ``fixed_mask`` over volume of ``moving_mask`` (e.g. tumour growth between scans).

    Args:
        fixed_mask: bool (*spatial).
        moving_mask: bool (*spatial), same voxel size as ``fixed_mask``.

    Returns:
        The ratio of voxel counts; ``inf`` when only the moving mask is empty, 1 when both are.
    """
    fixed_count = int(np.count_nonzero(_as_numpy(fixed_mask)))
    moving_count = int(np.count_nonzero(_as_numpy(moving_mask)))
    if moving_count == 0:
        return 1.0 if fixed_count == 0 else float("inf")
    return fixed_count / moving_count
