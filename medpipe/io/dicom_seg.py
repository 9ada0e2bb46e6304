"""DICOM-SEG from a label map and the exact source instances it was computed from (highdicom).

The label map is ``(X, Y, Z)`` in the voxel order :func:`~medpipe.io.load_series` returns
(X = column, Y = row, Z = source images sorted along the slice normal). Frame ``k`` of the
SEG refers to source image ``k`` and holds ``label_map[:, :, k].T`` (rows x columns), so its
plane position and orientation are copied from that very image by highdicom. This keeps the
segmentation on its source in every viewer, also for stacks medpipe refuses to resample
(gantry tilt, uneven spacing), because no volume affine is involved.

Segments are numbered 1..K in increasing label value; each gets a name, a category and a
type from a label table ``{value: {"name": str, "category": Code, "type": Code}}``
(SNOMED CT codes from ``pydicom.sr.codedict``). :data:`BRATS_LABEL_TABLE` and
:data:`BTCV_LABEL_TABLE` cover medpipe's bundles; other values get a generic tissue entry.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from medpipe.io.dicom_geometry import slice_normal
from medpipe.io.dicom_scan import DicomSeries

__all__ = ["BRATS_LABEL_TABLE", "BTCV_LABEL_TABLE", "write_dicom_seg", "read_dicom_seg", "sorted_source_files"]

_TYPE2_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID", "StudyDate",
                   "StudyTime", "ReferringPhysicianName", "AccessionNumber")
_ANATOMY = codes.SCT.AnatomicalStructure
_ABNORMAL = codes.SCT.MorphologicallyAbnormalStructure

BRATS_LABEL_TABLE = {
    1: {"name": "necrotic tumour core", "category": _ABNORMAL, "type": codes.SCT.Necrosis},
    2: {"name": "peritumoural oedema", "category": _ABNORMAL, "type": codes.SCT.Edema},
    4: {"name": "enhancing tumour", "category": _ABNORMAL, "type": codes.SCT.Neoplasm},
}
BTCV_LABEL_TABLE = {
    1: {"name": "spleen", "category": _ANATOMY, "type": codes.SCT.Spleen},
    2: {"name": "right kidney", "category": _ANATOMY, "type": Code("9846003", "SCT", "Right kidney")},
    3: {"name": "left kidney", "category": _ANATOMY, "type": Code("18639004", "SCT", "Left kidney")},
    4: {"name": "gallbladder", "category": _ANATOMY, "type": codes.SCT.Gallbladder},
    6: {"name": "liver", "category": _ANATOMY, "type": codes.SCT.Liver},
    7: {"name": "stomach", "category": _ANATOMY, "type": codes.SCT.Stomach},
    8: {"name": "aorta", "category": _ANATOMY, "type": codes.SCT.Aorta},
    11: {"name": "pancreas", "category": _ANATOMY, "type": codes.SCT.Pancreas},
}


def _entry(value: int, table: dict) -> dict:
    entry = dict(table.get(value, {}))
    entry.setdefault("name", f"label {value}")
    entry.setdefault("category", _ANATOMY)
    entry.setdefault("type", codes.SCT.Tissue)
    for key in ("category", "type"):
        if not isinstance(entry[key], Code) and not hasattr(entry[key], "value"):
            raise TypeError(f"`label_table[{value}][{key!r}]` must be a pydicom Code or CodedConcept, "
                            f"got {type(entry[key]).__name__}")
    return entry


def sorted_source_files(source) -> list[Path]:
    """The single-frame source files of ``source`` sorted along their slice normal.

    Args:
        source: a :class:`DicomSeries` (any status, as long as it is one plain 3D stack) or a
            sequence of DICOM file paths.

    Returns:
        paths in the Z order of medpipe's label maps.

    Raises:
        ValueError: a mosaic, multi-frame or 4D source, or mixed orientations.
    """
    import pydicom

    if isinstance(source, DicomSeries):
        if source.kind.startswith(("mosaic", "enhanced")) or len(source.shape) == 4:
            raise ValueError(f"`source` must be a plain 3D series of single-frame images, got kind {source.kind!r}")
        paths = source.files
    else:
        paths = [Path(path) for path in source]
    if not paths:
        raise ValueError("`source` must name at least one DICOM image, got none")
    positions, orientations = [], []
    for path in paths:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        if int(dataset.get("NumberOfFrames", 1) or 1) > 1:
            raise ValueError(f"`source` must be single-frame images, got {path.name} with {dataset.NumberOfFrames} frames")
        positions.append([float(value) for value in dataset.ImagePositionPatient])
        orientations.append([float(value) for value in dataset.ImageOrientationPatient])
    orientations = np.asarray(orientations)
    if np.max(np.abs(orientations - orientations[0])) > 1e-4:
        raise ValueError("`source` images must share one ImageOrientationPatient, got several")
    projections = np.asarray(positions) @ slice_normal(orientations[0])
    if len(np.unique(np.round(projections, 3))) != len(paths):
        raise ValueError("`source` must have one image per slice location, got repeated positions (a 4D series?)")
    return [paths[index] for index in np.argsort(projections, kind="stable")]


def write_dicom_seg(
    path: str | os.PathLike,
    label_map: np.ndarray,
    source,
    *,
    label_table: dict | None = None,
    series_description: str = "medpipe segmentation",
    series_number: int = 900,
    algorithm_name: str = "medpipe",
    algorithm_version: str | None = None,
) -> Path:
    """Write a binary DICOM-SEG with one segment per label value present in ``label_map``.

    Args:
        path: output file.
        label_map: integer ``(X, Y, Z)`` with X = columns, Y = rows and Z = the sorted source
            images (see :func:`sorted_source_files`); 0 is background.
        source: the :class:`DicomSeries` or file paths the label map was computed from.
        label_table: ``{value: {"name", "category", "type"}}``; missing values get defaults.
        series_description: SeriesDescription of the SEG.
        series_number: SeriesNumber of the SEG.
        algorithm_name: AlgorithmName recorded for every segment.
        algorithm_version: AlgorithmVersion (defaults to medpipe's version).

    Returns:
        the written path.

    Raises:
        ValueError: shape mismatch with the source, non-integer or negative labels, or an
            empty label map.
    """
    import highdicom as hd
    import pydicom

    from medpipe import __version__

    label_map = np.asarray(label_map)
    if label_map.ndim != 3 or label_map.dtype.kind not in "iub":
        raise ValueError(f"`label_map` must be an integer (X, Y, Z) array, got {label_map.dtype} {label_map.shape}")
    files = sorted_source_files(source)
    datasets = [pydicom.dcmread(file) for file in files]
    if any("FrameOfReferenceUID" not in dataset for dataset in datasets):
        raise ValueError("`source` images must have a FrameOfReferenceUID (required by the SEG IOD), got none")
    for dataset in datasets:  # type-2 attributes highdicom copies; empty is valid DICOM
        for keyword in _TYPE2_KEYWORDS:
            if keyword not in dataset:
                setattr(dataset, keyword, "")
    expected = (int(datasets[0].Columns), int(datasets[0].Rows), len(datasets))
    if label_map.shape != expected:
        raise ValueError(
            f"`label_map` must have shape (columns, rows, images) = {expected} to match its source, "
            f"got {label_map.shape}"
        )
    values = [int(value) for value in np.unique(label_map) if value != 0]
    if label_map.min() < 0:
        raise ValueError(f"`label_map` must be non-negative, got minimum {int(label_map.min())}")
    if not values:
        raise ValueError("`label_map` must contain at least one non-zero label, got only background")
    table = label_table or {}
    algorithm = hd.AlgorithmIdentificationSequence(
        name=algorithm_name, version=algorithm_version or __version__, family=codes.cid7162.ArtificialIntelligence
    )
    descriptions = []
    for number, value in enumerate(values, start=1):
        entry = _entry(value, table)
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=entry["name"][:64],
            segmented_property_category=entry["category"],
            segmented_property_type=entry["type"],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        ))
    frames = np.ascontiguousarray(label_map.transpose(2, 1, 0))  # (images, rows, columns)
    masks = np.stack([frames == value for value in values], axis=-1)
    segmentation = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=masks,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="medpipe",
        manufacturer_model_name="medpipe",
        software_versions=__version__,
        device_serial_number="0",
        series_description=series_description,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    segmentation.save_as(path)
    return path


def read_dicom_seg(path: str | os.PathLike, source) -> tuple[np.ndarray, dict[int, str]]:
    """Read a DICOM-SEG back onto its source images.

    Args:
        path: the SEG file.
        source: the :class:`DicomSeries` or file paths it refers to.

    Returns:
        uint16 ``(X, Y, Z)`` map of segment numbers in the Z order of
        :func:`sorted_source_files`, and ``{segment number: segment label}``.
    """
    import highdicom as hd
    import pydicom

    segmentation = hd.seg.segread(path)
    files = sorted_source_files(source)
    uids = [str(pydicom.dcmread(file, stop_before_pixels=True).SOPInstanceUID) for file in files]
    numbers = segmentation.get_segment_numbers()
    pixels = segmentation.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=numbers, combine_segments=True, skip_overlap_checks=True,
    )
    names = {number: segmentation.get_segment_description(number).segment_label for number in numbers}
    return np.ascontiguousarray(np.asarray(pixels, dtype=np.uint16).transpose(2, 1, 0)), names
