"""Multi-modal brain MRI phantom with a glioma and its BraTS label map."""

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
)

__all__ = ["BRATS_LABELS", "MODALITIES", "BrainPhantom", "brain_phantom", "to_brats2023_labels"]

#: BraTS 2017-2021 label values.
BRATS_LABELS: dict[str, int] = {"background": 0, "necrotic": 1, "oedema": 2, "enhancing": 4}

#: Standard deviation of the white noise added to each modality (intensity units, WM ~ 0.85).
NOISE_STD = 0.015


@dataclass(frozen=True)
class BrainPhantom:
    """A skull-stripped four-modality brain MRI with a glioma.

    Attributes:
        images: modality ("t1", "t1ce", "t2", "flair") -> float32 (X, Y, Z), zero outside the brain.
        label: uint8 (X, Y, Z) with BraTS values 0, 1 necrotic core, 2 oedema, 4 enhancing tumour
            (or 3 for enhancing when built with ``label_convention="brats2023"``).
        brain_mask: bool (X, Y, Z).
        affine: float64 (4, 4) RAS voxel-to-world matrix; the volume centre is at world (0, 0, 0).
        tumour_center: float64 (3,) tumour centre in voxel indices.
        tumour_radius: radius (mm) of the enhancing tumour; oedema reaches ~1.8 times further.
        ring_enhancing: whether the tumour has a necrotic core inside an enhancing shell.
        seed: the seed it was generated from.
    """

    images: dict[str, np.ndarray]
    label: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    tumour_center: np.ndarray
    tumour_radius: float
    ring_enhancing: bool
    seed: int

    def stacked(self) -> np.ndarray:
        """The four modalities as float32 (4, X, Y, Z) in the order t1, t1ce, t2, flair."""
        return np.stack([self.images[m] for m in MODALITIES])


def to_brats2023_labels(label: np.ndarray) -> np.ndarray:
    """Map BraTS 2017-2021 labels {0, 1, 2, 4} to the BraTS 2023 naming {0, 1, 2, 3} (enhancing 4 -> 3).

    Args:
        label: integer array of any shape with values in {0, 1, 2, 4}.

    Returns:
        uint8 array of the same shape.
    """
    label = np.asarray(label)
    if not np.issubdtype(label.dtype, np.integer):
        raise TypeError(f"`label` must be an integer array, got dtype {label.dtype}")
    unexpected = np.setdiff1d(np.unique(label), [0, 1, 2, 4])
    if unexpected.size:
        raise ValueError(f"`label` must hold only BraTS values {{0, 1, 2, 4}}, got also {unexpected.tolist()}")
    out = label.astype(np.uint8)
    out[label == 4] = 3
    return out


def brain_phantom(
    shape: Sequence[int] = (240, 240, 155),
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    seed: int = 0,
    tumour_center: Sequence[float] | None = None,
    tumour_radius: float | None = None,
    ring_enhancing: bool = True,
    label_convention: str = "brats",
) -> BrainPhantom:
    """Deterministic BraTS-like brain: T1, T1ce, T2 and FLAIR with a glioma and its label map.

    The anatomy is defined relative to the field of view ``shape * spacing``, so any grid holds a
    whole brain: the default is the BraTS grid (240 x 240 x 155 at 1 mm); a scaled-down grid
    either keeps 1 mm voxels (a smaller head) or passes a larger spacing (the same head, coarser).
    Voxel axes are RAS. Images are skull-stripped (zero outside ``brain_mask``), carry a smooth
    bias field and texture, and white noise of std :data:`NOISE_STD`. Same arguments give the
    same bytes: every random number comes from ``numpy.random.default_rng(seed)``.

    Args:
        shape: grid size (X, Y, Z), each >= 8.
        spacing: voxel size (mm) per axis.
        seed: non-negative int.
        tumour_center: tumour centre in voxel indices (x, y, z), inside the brain; None draws a
            centre in one hemisphere.
        tumour_radius: radius (mm) of the enhancing tumour (>= one voxel); None draws 20-30% of the
            smallest brain semi-axis. Oedema extends to 1.8 and necrosis to 0.5 times this radius.
        ring_enhancing: True for a necrotic core (1) inside an enhancing shell (4); False for a
            solid enhancing tumour without necrosis.
        label_convention: "brats" for {0, 1, 2, 4}, "brats2023" for {0, 1, 2, 3}.

    Returns:
        A :class:`BrainPhantom`.

    Raises:
        ValueError: on a bad shape, spacing, seed, tumour centre/radius or label convention.
    """
    shape = check_shape(shape, minimum=8)
    spacing = check_spacing(spacing)
    seed = check_seed(seed)
    if label_convention not in ("brats", "brats2023"):
        raise ValueError(f'`label_convention` must be "brats" or "brats2023", got {label_convention!r}')
    extent = np.asarray(shape, dtype=np.float64) * np.asarray(spacing)
    centre_mm = None
    if tumour_center is not None:
        centre = np.asarray(tumour_center, dtype=np.float64)
        if centre.shape != (3,) or not np.all(np.isfinite(centre)):
            raise ValueError(f"`tumour_center` must be 3 finite voxel indices (x, y, z), got {tumour_center!r}")
        centre_mm = (centre - (np.asarray(shape) - 1.0) / 2.0) * np.asarray(spacing)
    if tumour_radius is not None and not (np.isfinite(tumour_radius) and tumour_radius >= min(spacing)):
        raise ValueError(f"`tumour_radius` must be a finite radius in mm >= one voxel ({min(spacing)}), got {tumour_radius!r}")

    rng = np.random.default_rng(seed)
    model = BrainModel(
        rng,
        extent,
        min(spacing),
        tumour_center=centre_mm,
        tumour_radius=tumour_radius,
        ring_enhancing=ring_enhancing,
    )
    if centre_mm is not None:
        point = tuple(np.array([c], dtype=np.float32) for c in centre_mm)
        if model.brain_radius(point)[0] > 1.0:
            raise ValueError(f"`tumour_center` must lie inside the brain, got voxel {tuple(tumour_center)} (outside)")

    images, label, brain_mask = model.evaluate(grid_coordinates(shape, spacing))
    inside = brain_mask * np.float32(NOISE_STD)
    for modality in images:
        noise = rng.standard_normal(shape, dtype=np.float32)
        noise *= inside
        noise += images[modality]
        images[modality] = np.maximum(noise, np.float32(0.0), out=noise)
    if label_convention == "brats2023":
        label = to_brats2023_labels(label)
    centre_voxels = model.tumour_center / np.asarray(spacing) + (np.asarray(shape) - 1.0) / 2.0
    return BrainPhantom(
        images=images,
        label=label,
        brain_mask=brain_mask,
        affine=centred_affine(shape, spacing),
        tumour_center=centre_voxels,
        tumour_radius=model.tumour_radius,
        ring_enhancing=bool(ring_enhancing),
        seed=seed,
    )
