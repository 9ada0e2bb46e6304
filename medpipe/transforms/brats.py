"""BraTS-specific transforms: input checks and label <-> region conversion.

BraTS labels: 0 background, 1 necrotic / non-enhancing tumour core, 2 peritumoural oedema,
4 enhancing tumour (BraTS 2021; BraTS 2023 numbers enhancing tumour 3). Networks predict the
three nested evaluation regions as sigmoid channels, in this order:

- TC, tumour core = {1, ET};
- WT, whole tumour = {1, 2, ET};
- ET, enhancing tumour = {ET}.

Per-channel z-score on the brain is MONAI's ``NormalizeIntensityd(nonzero=True, channel_wise=True)``;
it is not repeated here.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, Transform

__all__ = [
    "BRATS_MODALITIES",
    "BRATS_REGIONS",
    "BraTSLabelToRegions",
    "BraTSLabelToRegionsd",
    "CheckBraTSInputsd",
    "RegionsToBraTSLabel",
    "RegionsToBraTSLabeld",
    "brats_label_to_regions",
    "check_brats_inputs",
    "regions_to_brats_label",
]

BRATS_MODALITIES = ("t1", "t1ce", "t2", "flair")
BRATS_REGIONS = ("TC", "WT", "ET")
_ET_LABELS = (3, 4)


def _check_et_label(et_label: int) -> int:
    if et_label not in _ET_LABELS:
        raise ValueError(f"`et_label` must be 4 (BraTS 2021) or 3 (BraTS 2023), got {et_label!r}")
    return int(et_label)


def brats_label_to_regions(label: torch.Tensor, et_label: int = 4) -> torch.Tensor:
    """BraTS label map -> the three region masks TC, WT, ET.

    Args:
        label: integer-valued (1, *spatial) or (*spatial) tensor with values in {0, 1, 2, et_label}.
        et_label: 4 for BraTS 2021, 3 for BraTS 2023.

    Returns:
        float32 (3, *spatial) with channels TC, WT, ET (0 or 1); a MetaTensor input keeps its meta.

    Raises:
        ValueError: if the label holds other values (naming them; a 3 with ``et_label=4`` or a 4
            with ``et_label=3`` hints at the other convention).
    """
    et_label = _check_et_label(et_label)
    if label.ndim >= 4 and label.shape[0] == 1:
        label = label[0]
    values = set(torch.unique(torch.as_tensor(label)).tolist())
    unexpected = sorted(values - {0, 1, 2, et_label})
    if unexpected:
        other = 7 - et_label
        hint = f"; a {other} suggests the other BraTS convention (et_label={other})" if other in unexpected else ""
        raise ValueError(f"`label` values must be in {{0, 1, 2, {et_label}}}, got also {unexpected}{hint}")
    enhancing = label == et_label
    core = (label == 1) | enhancing
    whole = core | (label == 2)
    return torch.stack([core, whole, enhancing]).to(torch.float32)


def regions_to_brats_label(regions: torch.Tensor, et_label: int = 4) -> torch.Tensor:
    """Three region masks TC, WT, ET (after sigmoid and threshold) -> BraTS label map.

    Nesting is enforced from the outside in: WT voxels become oedema (2), TC voxels inside WT
    become necrotic core (1), ET voxels inside TC become enhancing (``et_label``).

    Args:
        regions: (3, *spatial) tensor, nonzero = inside, channels TC, WT, ET.
        et_label: 4 for BraTS 2021, 3 for BraTS 2023.

    Returns:
        uint8 (1, *spatial) label map with values in {0, 1, 2, et_label}.

    Raises:
        ValueError: if ``regions`` does not have 3 channels.
    """
    et_label = _check_et_label(et_label)
    if regions.ndim < 2 or regions.shape[0] != len(BRATS_REGIONS):
        raise ValueError(
            f"`regions` must have {len(BRATS_REGIONS)} channels {BRATS_REGIONS} first, got shape {tuple(regions.shape)}"
        )
    core, whole, enhancing = (regions[i] > 0 for i in range(3))
    label = torch.zeros(regions.shape[1:], dtype=torch.uint8, device=regions.device)
    label[whole] = 2
    label[whole & core] = 1
    label[whole & core & enhancing] = et_label
    if isinstance(regions, MetaTensor):
        label = MetaTensor(label, meta=regions.meta, applied_operations=regions.applied_operations)
    return label[None]


def _spacing(image) -> tuple[float, ...] | None:
    affine = getattr(image, "affine", None)
    if affine is None:
        return None
    affine = np.asarray(affine, dtype=np.float64)
    return tuple(round(float(s), 4) for s in np.linalg.norm(affine[:-1, :-1], axis=0))


def check_brats_inputs(images: Mapping[str, torch.Tensor], modalities: Sequence[str] = BRATS_MODALITIES) -> None:
    """Refuse BraTS inputs that cannot be stacked into one (4, *spatial) image.

    Args:
        images: modality name -> (1, *spatial) or (*spatial) tensor (MetaTensor for geometry).
        modalities: the expected modality names, in order.

    Raises:
        ValueError: a modality is missing or one has several channels (naming the expected
            modalities); shapes or voxel geometry differ (giving both shapes and spacings); or
            a modality holds NaN.
    """
    expected = ", ".join(modalities)
    missing = [m for m in modalities if m not in images]
    if missing:
        raise ValueError(
            f"inputs must be the {len(modalities)} modalities {expected}, got {sorted(images)} (missing {missing})"
        )
    reference = modalities[0]
    ref_img = images[reference]
    for name in modalities:
        image = images[name]
        if image.ndim == 4 and image.shape[0] != 1:
            raise ValueError(
                f"modality {name!r} must be a single channel of the {len(modalities)} modalities "
                f"{expected}, got {image.shape[0]} channels"
            )
        if torch.isnan(torch.as_tensor(image)).any():
            raise ValueError(f"modality {name!r} must not contain NaN voxels, got {int(torch.isnan(image).sum())}")
        same_shape = tuple(image.shape[-3:]) == tuple(ref_img.shape[-3:])
        ref_affine, affine = getattr(ref_img, "affine", None), getattr(image, "affine", None)
        same_affine = (
            ref_affine is None
            or affine is None
            or np.allclose(np.asarray(ref_affine), np.asarray(affine), atol=1e-3)
        )
        if not (same_shape and same_affine):
            raise ValueError(
                f"modalities {reference!r} and {name!r} must share one voxel grid, got shapes "
                f"{tuple(ref_img.shape[-3:])} and {tuple(image.shape[-3:])}, spacings "
                f"{_spacing(ref_img)} and {_spacing(image)}"
                + ("" if same_shape else "; resample them onto one grid first")
            )


class CheckBraTSInputsd(MapTransform):
    """Dictionary check of the BraTS modalities before they are stacked (see :func:`check_brats_inputs`).

    With one key per modality (``keys=("t1", "t1ce", "t2", "flair")``) it checks presence,
    single channels, a shared grid and NaN. With a single key holding an already stacked image it
    checks that it has one channel per modality and no NaN.

    Args:
        keys: the modality keys, in order, or one key of a stacked (C, *spatial) image.
        modalities: names of the expected modalities, for messages (default t1, t1ce, t2, flair).
    """

    def __init__(self, keys: KeysCollection = BRATS_MODALITIES, modalities: Sequence[str] = BRATS_MODALITIES):
        super().__init__(keys)
        self.modalities = tuple(modalities)
        if len(self.keys) not in (1, len(self.modalities)):
            raise ValueError(
                f"`keys` must be one stacked key or one key per modality {self.modalities}, got {self.keys}"
            )

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict:
        d = dict(data)
        if len(self.keys) == 1:
            image = d[self.keys[0]]
            if image.ndim != 4 or image.shape[0] != len(self.modalities):
                raise ValueError(
                    f"`{self.keys[0]}` must have {len(self.modalities)} channels, the modalities "
                    f"{', '.join(self.modalities)}, got shape {tuple(image.shape)}"
                )
            check_brats_inputs({m: image[i : i + 1] for i, m in enumerate(self.modalities)}, self.modalities)
            return d
        present = {m: d[k] for k, m in zip(self.keys, self.modalities) if k in d}
        check_brats_inputs(present, self.modalities)
        return d


class BraTSLabelToRegions(Transform):
    """Array form of :func:`brats_label_to_regions`."""

    def __init__(self, et_label: int = 4):
        self.et_label = _check_et_label(et_label)

    def __call__(self, label: torch.Tensor) -> torch.Tensor:
        return brats_label_to_regions(label, self.et_label)


class RegionsToBraTSLabel(Transform):
    """Array form of :func:`regions_to_brats_label`."""

    def __init__(self, et_label: int = 4):
        self.et_label = _check_et_label(et_label)

    def __call__(self, regions: torch.Tensor) -> torch.Tensor:
        return regions_to_brats_label(regions, self.et_label)


class BraTSLabelToRegionsd(MapTransform):
    """Dictionary form of :class:`BraTSLabelToRegions`."""

    def __init__(self, keys: KeysCollection, et_label: int = 4, allow_missing_keys: bool = False):
        super().__init__(keys, allow_missing_keys)
        self.converter = BraTSLabelToRegions(et_label)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.converter(d[key])
        return d


class RegionsToBraTSLabeld(MapTransform):
    """Dictionary form of :class:`RegionsToBraTSLabel`."""

    def __init__(self, keys: KeysCollection, et_label: int = 4, allow_missing_keys: bool = False):
        super().__init__(keys, allow_missing_keys)
        self.converter = RegionsToBraTSLabel(et_label)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.converter(d[key])
        return d
