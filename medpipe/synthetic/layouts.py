"""Write phantoms into the folder layouts medpipe reads: BraTS, nnU-Net and DICOM studies.

* BraTS (2021 naming): ``<root>/<case>/<case>_t1.nii.gz``, ``_t1ce``, ``_t2``, ``_flair`` and
  ``_seg.nii.gz`` (labels as stored in the phantom, {0, 1, 2, 4} by default).
* nnU-Net: ``<root>/images<split>/<case>_0000.nii.gz``, ``_0001``, … (four-digit channel index) in the order of
  :data:`NNUNET_CHANNELS` (brain: 0000 t1, 0001 t1ce, 0002 t2, 0003 flair; CT: 0000 CT), and
  ``<root>/labels<split>/<case>.nii.gz`` (labels unchanged, BraTS or BTCV values).
* DICOM study: ``<root>/<study>/<NN>_<description>/0001.dcm ...``, one folder per series: four MR
  series for a brain ("T1", "T1 post contrast", "T2", "FLAIR", series 1-4) or one CT series
  ("CT abdomen"), optionally a sagittal localizer (ImageType ORIGINAL\\PRIMARY\\LOCALIZER,
  three slices, series 99). All series share the StudyInstanceUID and FrameOfReferenceUID.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from medpipe.synthetic.brain import MODALITIES, BrainPhantom
from medpipe.synthetic.ct import CTPhantom
from medpipe.synthetic.dicom import deterministic_uid, write_dicom_series
from medpipe.synthetic.writers import write_nifti

__all__ = ["MR_SERIES", "NNUNET_CHANNELS", "write_brats_case", "write_dicom_study", "write_nnunet_case"]

#: nnU-Net channel order: the four-digit suffix (``_0000``, ``_0001``, …) is the index in this tuple.
NNUNET_CHANNELS: dict[str, tuple[str, ...]] = {"brain": MODALITIES, "ct": ("ct",)}

#: Per modality: SeriesNumber, SeriesDescription and acquisition attributes of the MR series.
MR_SERIES: dict[str, tuple[int, str, dict[str, object]]] = {
    "t1": (1, "T1", {"ScanningSequence": "SE", "RepetitionTime": 500.0, "EchoTime": 10.0}),
    "t1ce": (
        2,
        "T1 post contrast",
        {"ScanningSequence": "SE", "RepetitionTime": 500.0, "EchoTime": 10.0, "ContrastBolusAgent": "GADOLINIUM"},
    ),
    "t2": (3, "T2", {"ScanningSequence": "SE", "RepetitionTime": 4000.0, "EchoTime": 100.0}),
    "flair": (
        4,
        "FLAIR",
        {"ScanningSequence": "IR", "RepetitionTime": 9000.0, "EchoTime": 120.0, "InversionTime": 2500.0},
    ),
}
LOCALIZER_SERIES_NUMBER = 99
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_case_id(case_id: str, name: str = "case_id") -> str:
    if not isinstance(case_id, str) or not _CASE_ID.match(case_id):
        raise ValueError(f"`{name}` must be a non-empty name of letters, digits, '_', '.', '-', got {case_id!r}")
    return case_id


def write_brats_case(root: str | os.PathLike, case_id: str, phantom: BrainPhantom) -> dict[str, Path]:
    """Write a brain phantom as a BraTS case folder.

    Returns:
        Paths by key "t1", "t1ce", "t2", "flair", "seg".
    """
    if not isinstance(phantom, BrainPhantom):
        raise TypeError(f"`phantom` must be a BrainPhantom, got {type(phantom).__name__}")
    case_id = _check_case_id(case_id)
    folder = Path(root) / case_id
    paths = {m: write_nifti(folder / f"{case_id}_{m}.nii.gz", phantom.images[m], phantom.affine) for m in MODALITIES}
    paths["seg"] = write_nifti(folder / f"{case_id}_seg.nii.gz", phantom.label, phantom.affine)
    return paths


def write_nnunet_case(
    root: str | os.PathLike, case_id: str, phantom: BrainPhantom | CTPhantom, *, split: str = "Ts"
) -> dict[str, Path]:
    """Write a phantom in nnU-Net's raw-data layout (channels per :data:`NNUNET_CHANNELS`).

    Args:
        root: dataset folder (e.g. ``nnUNet_raw/Dataset500_Synthetic``).
        case_id: case identifier.
        phantom: a :class:`BrainPhantom` (4 channels) or :class:`CTPhantom` (1 channel).
        split: "Ts" (imagesTs/labelsTs) or "Tr" (imagesTr/labelsTr).

    Returns:
        Paths by key "0000", "0001", ... and "label".
    """
    case_id = _check_case_id(case_id)
    if split not in ("Ts", "Tr"):
        raise ValueError(f'`split` must be "Ts" or "Tr", got {split!r}')
    if isinstance(phantom, BrainPhantom):
        channels = [phantom.images[m] for m in NNUNET_CHANNELS["brain"]]
    elif isinstance(phantom, CTPhantom):
        channels = [phantom.image]
    else:
        raise TypeError(f"`phantom` must be a BrainPhantom or CTPhantom, got {type(phantom).__name__}")
    root = Path(root)
    paths = {
        f"{i:04d}": write_nifti(root / f"images{split}" / f"{case_id}_{i:04d}.nii.gz", image, phantom.affine)
        for i, image in enumerate(channels)
    }
    paths["label"] = write_nifti(root / f"labels{split}" / f"{case_id}.nii.gz", phantom.label, phantom.affine)
    return paths


def _series_folder(number: int, description: str) -> str:
    return f"{number:02d}_" + re.sub(r"[^A-Za-z0-9]+", "_", description).strip("_")


def _localizer(volume: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Three sagittal slices through the centre of an axial volume, with their affine."""
    step = max(1, volume.shape[0] // 8)
    centre = volume.shape[0] // 2
    indices = [centre - step, centre, centre + step]
    slab = np.transpose(volume[indices], (1, 2, 0))  # (Y, Z, 3): columns A-P, rows S-I, slices L-R
    local = np.eye(4)
    local[:3, 0] = affine[:3, 1]
    local[:3, 1] = affine[:3, 2]
    local[:3, 2] = affine[:3, 0] * step
    local[:3, 3] = (affine @ np.array([centre - step, 0.0, 0.0, 1.0]))[:3]
    return slab, local


def write_dicom_study(
    root: str | os.PathLike, study_id: str, phantom: BrainPhantom | CTPhantom, *, localizer: bool = False
) -> dict[str, list[Path]]:
    """Write a phantom as a DICOM study with one sub-folder per series.

    Args:
        root: parent folder; the study goes to ``root/study_id``.
        study_id: study folder name; it also feeds the UIDs and PatientID ``SYNTHETIC-<study_id>``.
        phantom: brain (four MR series) or CT phantom (one CT series).
        localizer: also write a three-slice sagittal localizer series.

    Returns:
        Written file paths by series folder name, e.g. ``{"01_T1": [...], ...}``.
    """
    study_id = _check_case_id(study_id, "study_id")
    if isinstance(phantom, BrainPhantom):
        series = [
            (MR_SERIES[m][0], MR_SERIES[m][1], phantom.images[m], "MR", MR_SERIES[m][2]) for m in MODALITIES
        ]
        localizer_source, modality = phantom.images["t1"], "MR"
    elif isinstance(phantom, CTPhantom):
        series = [(1, "CT abdomen", phantom.image, "CT", {})]
        localizer_source, modality = phantom.image, "CT"
    else:
        raise TypeError(f"`phantom` must be a BrainPhantom or CTPhantom, got {type(phantom).__name__}")
    study_uid = deterministic_uid("study", phantom.seed, study_id)
    frame_uid = deterministic_uid("frame", study_uid)
    common = {
        "seed": phantom.seed,
        "study_uid": study_uid,
        "frame_of_reference_uid": frame_uid,
        "patient_id": f"SYNTHETIC-{study_id}",
    }
    folder = Path(root) / study_id
    written = {}
    for number, description, volume, kind, tags in series:
        name = _series_folder(number, description)
        written[name] = write_dicom_series(
            folder / name, volume, phantom.affine, modality=kind, series_description=description,
            series_number=number, extra_tags=tags, **common,
        )
    if localizer:
        slab, affine = _localizer(localizer_source, phantom.affine)
        name = _series_folder(LOCALIZER_SERIES_NUMBER, "Localizer")
        written[name] = write_dicom_series(
            folder / name, slab, affine, modality=modality, series_description="Localizer",
            series_number=LOCALIZER_SERIES_NUMBER, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), **common,
        )
    return written
