"""Tiny DICOM series written with pydicom, for tests that need exact control of every tag.

Geometry: slice ``k`` of ``volume[:, :, k]`` (X = column, Y = row) sits at
``origin + k * step`` (LPS, mm) with ImageOrientationPatient ``orientation``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, SecondaryCaptureImageStorage, generate_uid

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def _base(modality: str, series_uid: str, study_uid: str, series_number: int, description: str) -> FileDataset:
    meta = FileMetaDataset()
    sop_class = {"CT": CTImageStorage, "MR": MRImageStorage, "SC": SecondaryCaptureImageStorage}[modality]
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT" if modality == "SC" else modality
    ds.PatientName = "Test^Patient"
    ds.PatientID = "PID-0001"
    ds.PatientBirthDate = "19700101"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    ds.Manufacturer = "medpipe-tests"
    ds.StudyDate = "20240101"
    return ds


def write_series(
    folder,
    volume: np.ndarray,
    *,
    spacing=(0.75, 0.5),
    step=(0.0, 0.0, 2.0),
    origin=(-10.0, 20.0, 30.0),
    orientation=AXIAL,
    positions=None,
    modality: str = "CT",
    series_uid: str | None = None,
    study_uid: str | None = None,
    series_number: int = 1,
    description: str = "test series",
    image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
    slope: float | None = None,
    intercept: float | None = None,
    instance_order=None,
    acquisition_numbers=None,
    echo_times=None,
    gantry_tilt: float | None = None,
    prefix: str = "slice",
    compress=None,
) -> list[Path]:
    """Write ``volume`` (X, Y, Z) int16 as one file per slice; returns the paths in slice order.

    Args:
        spacing: PixelSpacing (row spacing, column spacing) in mm.
        step: LPS vector between slices; ``positions`` (Z, 3) overrides it.
        instance_order: InstanceNumber per slice (defaults to 1..Z).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    frame_of_reference = generate_uid()
    volume = np.asarray(volume)
    depth = volume.shape[2]
    if positions is None:
        positions = [np.asarray(origin, float) + k * np.asarray(step, float) for k in range(depth)]
    paths = []
    for k in range(depth):
        ds = _base(modality, series_uid, study_uid, series_number, description)
        ds.ImageType = list(image_type)
        ds.FrameOfReferenceUID = frame_of_reference
        ds.InstanceNumber = int(instance_order[k]) if instance_order is not None else k + 1
        ds.ImagePositionPatient = [float(value) for value in positions[k]]
        ds.ImageOrientationPatient = [float(value) for value in orientation]
        ds.PixelSpacing = [float(value) for value in spacing]
        ds.SliceThickness = float(np.linalg.norm(step))
        pixels = np.ascontiguousarray(volume[:, :, k].T)  # (rows=Y, columns=X)
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
        if slope is not None:
            ds.RescaleSlope = slope
        if intercept is not None:
            ds.RescaleIntercept = intercept
        if acquisition_numbers is not None:
            ds.AcquisitionNumber = int(acquisition_numbers[k])
        if echo_times is not None:
            ds.EchoTime = float(echo_times[k])
        if gantry_tilt is not None:
            ds.GantryDetectorTilt = gantry_tilt
        ds.PixelData = pixels.astype(np.int16 if ds.PixelRepresentation else np.uint16).tobytes()
        if compress is not None:
            ds.compress(compress)
        path = folder / f"{prefix}{k:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_enhanced(path, stacks: list[np.ndarray], *, spacing=(0.75, 0.5), step=(0.0, 0.0, 2.0),
                   origins=((-10.0, 20.0, 30.0), (-10.0, 20.0, 130.0)), slope=1.0, intercept=0.0) -> Path:
    """Write an enhanced MR multi-frame file holding one stack per array (X, Y, Z each),
    frames listed in reverse slice order to check sorting."""
    from pydicom.uid import EnhancedMRImageStorage

    ds = _base("MR", generate_uid(), generate_uid(), 9, "enhanced")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = EnhancedMRImageStorage
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    frames, groups = [], []
    for stack_index, stack in enumerate(stacks):
        for k in reversed(range(stack.shape[2])):
            frames.append(np.ascontiguousarray(stack[:, :, k].T))
            group = Dataset()
            position = Dataset()
            position.ImagePositionPatient = list(np.asarray(origins[stack_index]) + k * np.asarray(step))
            group.PlanePositionSequence = [position]
            content = Dataset()
            content.StackID = str(stack_index + 1)
            content.InStackPositionNumber = k + 1
            group.FrameContentSequence = [content]
            groups.append(group)
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = list(AXIAL)
    shared.PlaneOrientationSequence = [orientation]
    measures = Dataset()
    measures.PixelSpacing = list(spacing)
    measures.SliceThickness = float(np.linalg.norm(step))
    shared.PixelMeasuresSequence = [measures]
    transform = Dataset()
    transform.RescaleSlope = slope
    transform.RescaleIntercept = intercept
    transform.RescaleType = "US"
    shared.PixelValueTransformationSequence = [transform]
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = groups
    ds.NumberOfFrames = len(frames)
    ds.Rows, ds.Columns = frames[0].shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = np.stack(frames).astype(np.int16).tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def volume(shape=(5, 6, 7), seed=0) -> np.ndarray:
    """Distinct int16 values so that any axis swap or flip shows."""
    return np.random.default_rng(seed).integers(-500, 1500, shape).astype(np.int16)
