"""Registration pairs: a brain with a tumour, and the same brain deformed with the tumour grown.

Convention (MONAI ``Warp`` / VoxelMorph ``SpatialTransformer``): with ``x`` a voxel index,

    fixed(x) = moving(x + ddf(x)),     ddf: float32 (3, X, Y, Z) in voxels,

so warping ``moving`` with ``ddf`` (e.g. ``monai.networks.blocks.Warp()(moving, ddf)``) gives
``fixed``. The fixed image is not interpolated from the moving array: both are evaluations of
the same continuous brain model, the fixed one at the positions ``x + ddf(x)``. The deformation
``phi(x) = x + ddf(x)`` is the sum of

* a radial growth map centred on the tumour: ``phi(x) = c + (x - c) / s`` for
  ``|x - c| <= r1`` (so the fixed tumour is the moving one scaled by ``s = volume_ratio^(1/3)``
  about ``c``), blending to the identity at ``r2 = 1.6 r1`` with a C1 smoothstep; the map is
  monotone along each ray, hence invertible, for ``volume_ratio >= 0.55``;
* smooth Gaussian bumps away from the tumour (zero within ``r2``), halved until the Jacobian
  determinant of ``phi`` exceeds 0.2 everywhere.

Hence fixed tumour volume / moving tumour volume equals ``volume_ratio`` up to discretisation;
the voxel-count ratio is reported as ``voxel_volume_ratio``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medpipe.synthetic._brain_model import MODALITIES, BrainModel
from medpipe.synthetic._shapes import (
    centred_affine,
    check_seed,
    check_shape,
    check_spacing,
    grid_coordinates,
    smoothstep,
)
from medpipe.synthetic.brain import NOISE_STD

__all__ = ["RegistrationPair", "jacobian_determinant", "registration_pair"]

_GROWTH_TAPER = 1.6
_MIN_JACOBIAN = 0.2


@dataclass(frozen=True)
class RegistrationPair:
    """Moving and fixed brain images with tumour masks and the displacement that relates them.

    Attributes:
        moving: float32 (X, Y, Z) image (``modality`` contrast).
        fixed: float32 (X, Y, Z), ``fixed(x) = moving(x + ddf(x))`` (see module docstring).
        moving_label: uint8 (X, Y, Z), tumour (necrotic core + enhancing) = 1.
        fixed_label: uint8 (X, Y, Z), the grown tumour = 1.
        ddf: float32 (3, X, Y, Z) displacement in voxels, channel order x, y, z.
        volume_ratio: designed fixed / moving tumour volume.
        voxel_volume_ratio: measured ``fixed_label.sum() / moving_label.sum()``.
        affine: float64 (4, 4) RAS, shared by both images.
        tumour_center: float64 (3,) centre of the growth in voxel indices.
        seed: the seed it was generated from.
    """

    moving: np.ndarray
    fixed: np.ndarray
    moving_label: np.ndarray
    fixed_label: np.ndarray
    ddf: np.ndarray
    volume_ratio: float
    voxel_volume_ratio: float
    affine: np.ndarray
    tumour_center: np.ndarray
    seed: int


def jacobian_determinant(ddf: np.ndarray) -> np.ndarray:
    """Jacobian determinant of ``x -> x + ddf(x)`` by central differences.

    Args:
        ddf: float (3, X, Y, Z) displacement in voxels.

    Returns:
        float64 (X, Y, Z).
    """
    ddf = np.asarray(ddf, dtype=np.float64)
    if ddf.ndim != 4 or ddf.shape[0] != 3:
        raise ValueError(f"`ddf` must be (3, X, Y, Z), got shape {ddf.shape}")
    jacobian = np.stack([np.stack(np.gradient(ddf[i]), axis=0) for i in range(3)])  # (3, 3, X, Y, Z)
    jacobian += np.eye(3)[:, :, None, None, None]
    return np.linalg.det(np.moveaxis(jacobian, (0, 1), (-2, -1)))


def registration_pair(
    shape: Sequence[int] = (48, 44, 40),
    *,
    spacing: Sequence[float] = (4.0, 4.0, 4.0),
    seed: int = 0,
    volume_ratio: float = 1.3,
    modality: str = "t1ce",
    num_bumps: int = 6,
) -> RegistrationPair:
    """Deterministic moving/fixed pair with a tumour that changes volume by ``volume_ratio``.

    Args:
        shape: grid (X, Y, Z), each >= 16.
        spacing: voxel size (mm); the brain fills the field of view ``shape * spacing``.
        seed: non-negative int.
        volume_ratio: fixed tumour volume / moving tumour volume, in [0.55, 2.5].
        modality: contrast of both images, one of "t1", "t1ce", "t2", "flair".
        num_bumps: number of Gaussian bumps of background deformation (>= 0).

    Returns:
        A :class:`RegistrationPair`.
    """
    shape = check_shape(shape, minimum=16)
    spacing = check_spacing(spacing)
    seed = check_seed(seed)
    if not (isinstance(volume_ratio, (int, float, np.floating)) and 0.55 <= volume_ratio <= 2.5):
        raise ValueError(f"`volume_ratio` must be a number in [0.55, 2.5] (invertible growth), got {volume_ratio!r}")
    if modality not in MODALITIES:
        raise ValueError(f"`modality` must be one of {MODALITIES}, got {modality!r}")
    if isinstance(num_bumps, bool) or not isinstance(num_bumps, (int, np.integer)) or num_bumps < 0:
        raise ValueError(f"`num_bumps` must be an int >= 0, got {num_bumps!r}")

    rng = np.random.default_rng(seed)
    step = np.asarray(spacing)
    extent = np.asarray(shape) * step
    model = BrainModel(rng, extent, min(spacing))
    coords = grid_coordinates(shape, spacing)
    images, label, _ = model.evaluate(coords)

    full = np.stack(np.broadcast_arrays(*coords)).astype(np.float64)  # (3, X, Y, Z) mm
    offset = full - model.tumour_center[:, None, None, None]
    radius = np.sqrt((offset**2).sum(axis=0))
    tumour_extent = radius[label > 0].max() + 2.0 * step.max()
    scale = float(volume_ratio) ** (1.0 / 3.0)
    inner = max(1.0, scale) * tumour_extent
    outer = _GROWTH_TAPER * inner
    weight = 1.0 - smoothstep((radius - inner) / (outer - inner))
    displacement = (1.0 / scale - 1.0) * weight * offset  # mm

    bumps = np.zeros_like(full)
    for _ in range(num_bumps):
        centre = rng.uniform(-0.5, 0.5, size=3) * extent
        sigma = rng.uniform(0.12, 0.2) * extent.min()
        direction = rng.standard_normal(3)
        amplitude = 0.15 * sigma * direction / np.linalg.norm(direction)
        squared = (((full - centre[:, None, None, None]) / sigma) ** 2).sum(axis=0)
        bumps += amplitude[:, None, None, None] * np.exp(-0.5 * squared)
    bumps *= smoothstep((radius - outer) / (0.5 * outer))
    for _ in range(10):  # deterministic: halve the background bumps until the map is safely invertible
        ddf = ((displacement + bumps) / step[:, None, None, None]).astype(np.float32)
        if jacobian_determinant(ddf).min() > _MIN_JACOBIAN:
            break
        bumps *= 0.5
    else:  # the growth alone is invertible by construction (see the module docstring)
        ddf = (displacement / step[:, None, None, None]).astype(np.float32)

    warped = tuple(full[i] + ddf[i].astype(np.float64) * step[i] for i in range(3))
    fixed_images, fixed_brats, _ = model.evaluate(tuple(w.astype(np.float32) for w in warped))
    moving = images[modality]
    fixed = fixed_images[modality]
    for image in (moving, fixed):
        noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(NOISE_STD)
        image += noise * (image > 0)
        np.maximum(image, 0.0, out=image)
    moving_label = np.isin(label, (1, 4)).astype(np.uint8)
    fixed_label = np.isin(fixed_brats, (1, 4)).astype(np.uint8)
    return RegistrationPair(
        moving=moving,
        fixed=fixed,
        moving_label=moving_label,
        fixed_label=fixed_label,
        ddf=ddf,
        volume_ratio=float(volume_ratio),
        voxel_volume_ratio=float(fixed_label.sum()) / max(int(moving_label.sum()), 1),
        affine=centred_affine(shape, spacing),
        tumour_center=model.tumour_center / step + (np.asarray(shape) - 1.0) / 2.0,
        seed=seed,
    )
