"""Write a volume as a DICOM series (CT or MR Image Storage, one file per slice).

Geometry. ``volume[i, j, k]`` sits at RAS position ``affine @ (i, j, k, 1)``. Slice ``k`` becomes
instance ``k + 1`` whose pixel ``(row r, column c)`` is ``volume[c, r, k]``: columns follow voxel
axis 0 and rows voxel axis 1. DICOM is LPS, so with ``L = diag(-1, -1, 1)``:

* ``ImageOrientationPatient = (L a0 / |a0|, L a1 / |a1|)`` where ``a0, a1, a2`` are the
  columns of ``affine[:3, :3]`` (row direction first, then column direction);
* ``PixelSpacing = (|a1|, |a0|)`` (spacing between rows, then between columns);
* ``ImagePositionPatient_k = L (affine @ (0, 0, k, 1))[:3]``;
* ``SliceThickness = SpacingBetweenSlices = |a2|``.

The three axes must be orthogonal (DICOM has no shear). When ``det(affine) < 0`` the slice
axis points against the IOP normal, so readers that sort by position (all of them) return the
slices in reverse order; the geometry is unchanged.

Pixels are 16-bit integers with ``value = stored * RescaleSlope + RescaleIntercept``: CT stores
``round(HU) + 1024`` as int16 with intercept -1024 (HU are rounded to integers); MR stores
uint16 with slope ``(max - min) / 4095`` and intercept ``min`` unless the data are already
integers in range (then slope 1, intercept 0). UIDs come from
``pydicom.uid.generate_uid(entropy_srcs=...)`` on the seed and series identity, dates and
times are fixed, so the same call writes the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medpipe.synthetic.writers import check_affine

__all__ = ["LPS_FROM_RAS", "deterministic_uid", "series_geometry", "write_dicom_series"]

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])
_SOP_CLASSES = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4"}
_DATE, _TIME = "20000101", "120000"
PATIENT_NAME = "SYNTHETIC^PHANTOM"


def deterministic_uid(*parts: object) -> str:
    """A DICOM UID derived (SHA-512, pydicom's root) from ``parts``; same parts, same UID."""
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["medpipe.synthetic", *map(str, parts)]))


def series_geometry(affine: np.ndarray) -> dict[str, np.ndarray | float]:
    """DICOM geometry of a RAS affine, as described in the module docstring.

    Returns:
        ``orientation`` (6,) IOP, ``pixel_spacing`` (2,) (row, column), ``slice_spacing``,
        ``origin_step`` (3,) LPS step between slice positions and ``origin`` (3,) LPS position of
        the first slice.
    """
    matrix = check_affine(affine)
    axes = matrix[:3, :3]
    lengths = np.linalg.norm(axes, axis=0)
    unit = axes / lengths
    gram = unit.T @ unit
    if not np.allclose(gram, np.eye(3), atol=1e-6):
        raise ValueError(
            "`affine` must have orthogonal axes to be written as DICOM (no shear), got direction cosine "
            f"products {gram[0, 1]:.3g}, {gram[0, 2]:.3g}, {gram[1, 2]:.3g}"
        )
    return {
        "orientation": np.concatenate([LPS_FROM_RAS @ unit[:, 0], LPS_FROM_RAS @ unit[:, 1]]),
        "pixel_spacing": np.array([lengths[1], lengths[0]]),
        "slice_spacing": float(lengths[2]),
        "origin_step": LPS_FROM_RAS @ axes[:, 2],
        "origin": LPS_FROM_RAS @ matrix[:3, 3],
    }


def _quantise(volume: np.ndarray, modality: str) -> tuple[np.ndarray, float, float]:
    """Stored integers, slope and intercept for ``volume`` (see module docstring)."""
    if modality == "CT":
        stored = np.clip(np.rint(volume.astype(np.float64)) + 1024.0, -32768, 32767).astype(np.int16)
        return stored, 1.0, -1024.0
    values = volume.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if np.all(values == np.rint(values)) and low >= 0 and high <= 65535:
        return values.astype(np.uint16), 1.0, 0.0
    slope = (high - low) / 4095.0 if high > low else 1.0
    slope = float(f"{slope:.10g}")  # what DS can hold exactly, so readers invert it bit-for-bit
    intercept = float(f"{low:.10g}")
    stored = np.clip(np.rint((values - intercept) / slope), 0, 65535).astype(np.uint16)
    return stored, slope, intercept


def _ds(values: Sequence[float] | float):
    from pydicom.valuerep import DSfloat

    if np.ndim(values) == 0:
        return DSfloat(float(values), auto_format=True)
    return [DSfloat(float(v), auto_format=True) for v in values]


def write_dicom_series(
    folder: str | os.PathLike,
    volume: np.ndarray,
    affine: np.ndarray,
    *,
    modality: str = "CT",
    series_description: str | None = None,
    seed: int = 0,
    series_number: int = 1,
    study_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    patient_id: str | None = None,
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "AXIAL"),
    extra_tags: dict[str, object] | None = None,
) -> list[Path]:
    """Write ``volume`` as one DICOM file per slice: ``folder/0001.dcm``, ``0002.dcm``, ...

    Args:
        folder: output folder (created).
        volume: (X, Y, Z) real array in the voxel order of ``affine``; CT in HU.
        affine: float64 (4, 4) RAS voxel-to-world matrix with orthogonal axes.
        modality: "CT" (CT Image Storage) or "MR" (MR Image Storage).
        series_description: SeriesDescription; defaults to the modality.
        seed: feeds the default patient id and UIDs.
        series_number: SeriesNumber (>= 1).
        study_uid: StudyInstanceUID shared by the series of one study; default from ``seed``.
        frame_of_reference_uid: FrameOfReferenceUID; default from the study UID.
        patient_id: PatientID; default "SYNTHETIC-<seed>".
        image_type: ImageType values, e.g. ("ORIGINAL", "PRIMARY", "LOCALIZER").
        extra_tags: further attributes by keyword (e.g. ``{"EchoTime": 90.0}``), set last.

    Returns:
        The written paths in InstanceNumber order.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    if modality not in _SOP_CLASSES:
        raise ValueError(f'`modality` must be "CT" or "MR", got {modality!r}')
    data = np.asarray(volume)
    if data.ndim != 3 or min(data.shape) < 1:
        raise ValueError(f"`volume` must be a non-empty 3D array (X, Y, Z), got shape {data.shape}")
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == bool) or np.iscomplexobj(data):
        raise TypeError(f"`volume` must be real-valued, got dtype {data.dtype}")
    if not np.all(np.isfinite(data)):
        raise ValueError("`volume` must be finite, got NaN or infinite values")
    if isinstance(series_number, bool) or not isinstance(series_number, (int, np.integer)) or series_number < 1:
        raise ValueError(f"`series_number` must be an int >= 1, got {series_number!r}")
    geometry = series_geometry(affine)
    description = modality if series_description is None else str(series_description)
    study_uid = study_uid or deterministic_uid("study", seed)
    frame_uid = frame_of_reference_uid or deterministic_uid("frame", study_uid)
    series_uid = deterministic_uid("series", study_uid, series_number, description)
    stored, slope, intercept = _quantise(data, modality)
    window_low, window_high = (-160.0, 240.0) if modality == "CT" else (float(data.min()), float(data.max()))
    normal = np.cross(geometry["orientation"][:3], geometry["orientation"][3:])

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(data.shape[2]):
        sop_uid = deterministic_uid("instance", series_uid, k)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = _SOP_CLASSES[modality]
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = _SOP_CLASSES[modality]
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.PatientName = PATIENT_NAME
        ds.PatientID = patient_id or f"SYNTHETIC-{seed}"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = _DATE
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = _TIME
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.Manufacturer = "medpipe"
        ds.Modality = modality
        ds.SeriesNumber = int(series_number)
        ds.SeriesDescription = description
        ds.InstanceNumber = k + 1
        ds.AcquisitionNumber = 1
        ds.ImageType = list(image_type)
        ds.PositionReferenceIndicator = ""
        position = geometry["origin"] + k * geometry["origin_step"]
        ds.ImagePositionPatient = _ds(position)
        ds.ImageOrientationPatient = _ds(geometry["orientation"])
        ds.SliceLocation = _ds(float(position @ normal))
        ds.PixelSpacing = _ds(geometry["pixel_spacing"])
        ds.SliceThickness = _ds(geometry["slice_spacing"])
        ds.SpacingBetweenSlices = _ds(geometry["slice_spacing"])
        ds.Rows, ds.Columns = int(data.shape[1]), int(data.shape[0])
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if stored.dtype == np.int16 else 0
        ds.RescaleSlope = _ds(slope)
        ds.RescaleIntercept = _ds(intercept)
        ds.WindowCenter = _ds((window_low + window_high) / 2.0)
        ds.WindowWidth = _ds(max(window_high - window_low, 1.0))
        if modality == "CT":
            ds.RescaleType = "HU"
            ds.KVP = ""
        else:
            ds.ScanningSequence = "SE"
            ds.SequenceVariant = "NONE"
            ds.ScanOptions = ""
            ds.MRAcquisitionType = "3D"
            ds.RepetitionTime = ds.EchoTime = ds.EchoTrainLength = ""
        for keyword, value in (extra_tags or {}).items():
            setattr(ds, keyword, value)
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).tobytes()
        path = folder / f"{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
