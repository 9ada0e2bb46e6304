"""Header-only reading of DICOM files into one :class:`SliceHeader` per 2D image.

A classic file gives one header. A Siemens mosaic gives one header that knows its tile
count and slice normal (from the CSA image header). An enhanced multi-frame file gives one
header per frame, filled from the per-frame and shared functional groups.

Reading stops before the pixel data (``stop_before_pixels``); the file offset where it
stopped is kept, so that uncompressed pixels can later be read with one ``np.fromfile`` call
instead of a second full parse, and so that a truncated file is caught during the scan.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medpipe.io.siemens_csa import csa_image_fields

__all__ = ["SliceHeader", "read_headers", "NotDicomError", "METADATA_KEYWORDS", "PHI_KEYWORDS"]

_PIXEL_TAGS = {
    True: {b"\xe0\x7f\x10\x00": "int", b"\xe0\x7f\x08\x00": "float", b"\xe0\x7f\x09\x00": "double"},
    False: {b"\x7f\xe0\x00\x10": "int", b"\x7f\xe0\x00\x08": "float", b"\x7f\xe0\x00\x09": "double"},
}
_MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"
_NATIVE_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


#: acquisition and geometry tags copied into ``metadata`` (never identifying)
METADATA_KEYWORDS = (
    "Modality", "Manufacturer", "ManufacturerModelName", "SoftwareVersions", "MagneticFieldStrength",
    "SeriesDescription", "ProtocolName", "SequenceName", "ScanningSequence", "SequenceVariant",
    "ScanOptions", "MRAcquisitionType", "ImageType", "SeriesNumber", "EchoTime", "RepetitionTime",
    "InversionTime", "FlipAngle", "EchoTrainLength", "PixelBandwidth", "ImagingFrequency",
    "SliceThickness", "SpacingBetweenSlices", "PixelSpacing", "KVP", "XRayTubeCurrent", "Exposure",
    "ConvolutionKernel", "ReconstructionDiameter", "GantryDetectorTilt", "BodyPartExamined",
    "ContrastBolusAgent", "PhotometricInterpretation", "BitsStored", "InPlanePhaseEncodingDirection",
    "SeriesInstanceUID", "StudyInstanceUID",
)
#: patient / institution identifiers, kept only with ``keep_phi=True``
PHI_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight",
    "OtherPatientIDs", "AccessionNumber", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
    "StudyTime", "SeriesTime", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
    "PerformingPhysicianName", "OperatorsName", "StationName", "DeviceSerialNumber", "StudyID",
)


_KEYWORDS = (
    "SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Modality",
    "ImageType", "Rows", "Columns", "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient",
    "InstanceNumber", "AcquisitionNumber", "TemporalPositionIdentifier", "TriggerTime", "AcquisitionTime",
    "EchoNumbers", "EchoTime", "RescaleSlope", "RescaleIntercept", "GantryDetectorTilt", "SliceThickness",
    "SpacingBetweenSlices", "BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel",
    "NumberOfFrames", "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence",
)
# Siemens CSA private creators and the CSA image headers they announce
_PRIVATE_TAGS = (0x00290010, 0x00290011, 0x00290012, 0x00291010, 0x00291110, 0x00291210)


@functools.lru_cache(maxsize=1)
def _wanted_tags() -> tuple[int, ...]:
    from pydicom.datadict import tag_for_keyword

    extra = [keyword for keyword in METADATA_KEYWORDS + PHI_KEYWORDS if keyword not in _KEYWORDS]
    return tuple(int(tag_for_keyword(keyword)) for keyword in (*_KEYWORDS, *extra)) + _PRIVATE_TAGS


class NotDicomError(ValueError):
    """The file is not DICOM (no ``DICM`` prefix); scans skip such files silently."""


@dataclass(slots=True)
class SliceHeader:
    """What the scan needs to know about one 2D image (one file, or one frame of a file).

    Positions and orientations are LPS (DICOM patient frame), in mm.
    """

    path: Path
    frame: int | None
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    series_number: str
    series_description: str
    modality: str
    image_type: tuple[str, ...]
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    orientation: np.ndarray | None
    position: np.ndarray | None
    instance_number: int
    acquisition_number: int
    temporal_key: tuple
    echo: str
    slope: float
    intercept: float
    gantry_tilt: float
    slice_thickness: float | None
    spacing_between_slices: float | None
    transfer_syntax: str
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    samples_per_pixel: int
    number_of_frames: int
    stack_id: str = ""
    mosaic_count: int = 0
    mosaic_normal: np.ndarray | None = None
    pixel_kind: str = ""
    pixel_offset: int | None = None
    encapsulated_offset: int | None = None
    problem: str = ""
    extra: dict = field(default_factory=dict)


def _float(value, default=None):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _vector(value, size):
    try:
        array = np.asarray([float(item) for item in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array if array.shape == (size,) and np.all(np.isfinite(array)) else None


def _pixel_element(handle, common: dict, file_size: int, stopped_at: int) -> tuple[str, int | None, str]:
    """(pixel kind, offset of native pixel bytes or None, problem) from the bytes where reading stopped."""
    syntax = common["transfer_syntax"] or "1.2.840.10008.1.2"
    little = syntax != "1.2.840.10008.1.2.2"
    implicit = syntax == "1.2.840.10008.1.2"
    handle.seek(stopped_at)
    head = handle.read(12)
    kind = _PIXEL_TAGS[little].get(head[:4], "")
    if not kind:
        return "", None, ""
    if syntax not in _NATIVE_SYNTAXES:
        if head[8:12] == b"\xff\xff\xff\xff":  # encapsulated: fragments start after the element header
            common["encapsulated_offset"] = stopped_at + 12
        return kind, None, ""
    order = "little" if little else "big"
    if implicit:
        length, header_size = int.from_bytes(head[4:8], order), 8
    else:
        length, header_size = int.from_bytes(head[8:12], order), 12
    if length == 0xFFFFFFFF:
        return kind, None, ""
    expected = (
        common["rows"] * common["columns"] * common["number_of_frames"] * common["samples_per_pixel"]
        * common["bits_allocated"] // 8
    )
    offset = stopped_at + header_size
    if file_size < offset + length:
        return kind, None, f"truncated file: {offset + length - file_size} bytes of pixel data missing"
    if length < expected:
        return kind, None, f"pixel data holds {length} bytes, Rows x Columns x frames needs {expected}"
    return kind, offset, ""


def _mosaic(image_type: tuple[str, ...], dataset) -> tuple[int, np.ndarray | None, str]:
    """(number of tiles, slice normal, problem) of a Siemens mosaic; (0, None, '') otherwise."""
    if "MOSAIC" not in image_type:
        return 0, None, ""
    try:
        fields = csa_image_fields(dataset) or {}
    except Exception as error:  # a corrupt CSA header is a per-file problem, never a crash
        return 0, None, f"unreadable Siemens CSA header: {error}"
    count = _int((fields.get("NumberOfImagesInMosaic") or [0])[0])
    normal = _vector(fields.get("SliceNormalVector") or [], 3)
    if count < 1 or normal is None:
        return 0, None, "Siemens mosaic without NumberOfImagesInMosaic or SliceNormalVector in its CSA header"
    return count, normal / np.linalg.norm(normal), ""


def _group_value(frame_group, shared_group, sequence: str, keyword: str):
    for group in (frame_group, shared_group):
        if group is not None and sequence in group and len(group[sequence].value):
            item = group[sequence][0]
            if keyword in item:
                return item.get(keyword)
    return None


_US_KEYWORDS = frozenset({"Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel"})


class _RawTags:
    """Top-level values read from the undecoded bytes pydicom keeps until first access.

    pydicom's per-element value conversion is the slowest part of a header scan; the scan
    only needs text and a few unsigned shorts, so it decodes those itself.
    """

    def __init__(self, dataset):
        self.dataset = dataset
        self.tags = dict(zip(_KEYWORDS, _wanted_tags()))  # _KEYWORDS come first in _wanted_tags

    def text(self, keyword: str) -> str:
        element = self.dataset.get_item(self.tags[keyword])
        value = None if element is None else element.value
        if value is None:
            return ""
        if isinstance(value, bytes):
            if keyword in _US_KEYWORDS:
                order = "little" if element.is_little_endian else "big"
                return str(int.from_bytes(value[:2], order)) if len(value) >= 2 else ""
            return value.decode("latin-1").strip(" \x00")
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            return "\\".join(str(item) for item in value)
        return str(value)

    def values(self, keyword: str) -> list[str]:
        text = self.text(keyword)
        return [part.strip() for part in text.split("\\")] if text else []


def _echo(raw: _RawTags) -> str:
    text = raw.text("EchoNumbers") or raw.text("EchoTime")
    number = _float(text)
    return f"{number:g}" if number is not None else text


def _common(path: Path, dataset, problem: str) -> dict:
    raw = _RawTags(dataset)
    spacing = _vector(raw.values("PixelSpacing"), 2)
    meta = getattr(dataset, "file_meta", None)
    return dict(
        path=path,
        frame=None,
        sop_instance_uid=raw.text("SOPInstanceUID"),
        sop_class_uid=raw.text("SOPClassUID"),
        series_uid=raw.text("SeriesInstanceUID"),
        series_number=raw.text("SeriesNumber"),
        series_description=raw.text("SeriesDescription"),
        modality=raw.text("Modality"),
        image_type=tuple(value.upper() for value in raw.values("ImageType")),
        rows=_int(raw.text("Rows")),
        columns=_int(raw.text("Columns")),
        pixel_spacing=tuple(spacing) if spacing is not None else None,
        orientation=_vector(raw.values("ImageOrientationPatient"), 6),
        position=_vector(raw.values("ImagePositionPatient"), 3),
        instance_number=_int(raw.text("InstanceNumber")),
        acquisition_number=_int(raw.text("AcquisitionNumber")),
        temporal_key=(
            _int(raw.text("TemporalPositionIdentifier")),
            _int(raw.text("AcquisitionNumber")),
            _float(raw.text("TriggerTime"), 0.0),
            raw.text("AcquisitionTime"),
            _int(raw.text("InstanceNumber")),
        ),
        echo=_echo(raw),
        slope=_float(raw.text("RescaleSlope"), 1.0) or 1.0,
        intercept=_float(raw.text("RescaleIntercept"), 0.0),
        gantry_tilt=_float(raw.text("GantryDetectorTilt"), 0.0),
        slice_thickness=_float(raw.text("SliceThickness")),
        spacing_between_slices=_float(raw.text("SpacingBetweenSlices")),
        transfer_syntax=str(meta.get("TransferSyntaxUID", "")) if meta is not None else "",
        bits_allocated=_int(raw.text("BitsAllocated"), 16),
        bits_stored=_int(raw.text("BitsStored"), 16),
        pixel_representation=_int(raw.text("PixelRepresentation")),
        samples_per_pixel=_int(raw.text("SamplesPerPixel"), 1) or 1,
        number_of_frames=max(_int(raw.text("NumberOfFrames"), 1), 1),
        problem=problem,
    )


def _frames(common: dict, dataset) -> list[SliceHeader]:
    """One header per frame of an enhanced multi-frame image, from its functional groups."""
    shared = dataset.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in dataset else None
    per_frame = dataset.PerFrameFunctionalGroupsSequence
    headers = []
    for index in range(common["number_of_frames"]):
        group = per_frame[index] if index < len(per_frame) else None
        values = dict(common)
        values["frame"] = index
        values["position"] = _vector(
            _group_value(group, shared, "PlanePositionSequence", "ImagePositionPatient") or [], 3
        )
        values["orientation"] = _vector(
            _group_value(group, shared, "PlaneOrientationSequence", "ImageOrientationPatient") or [], 6
        )
        spacing = _vector(_group_value(group, shared, "PixelMeasuresSequence", "PixelSpacing") or [], 2)
        values["pixel_spacing"] = tuple(spacing) if spacing is not None else None
        values["slice_thickness"] = _float(_group_value(group, shared, "PixelMeasuresSequence", "SliceThickness"))
        values["spacing_between_slices"] = _float(
            _group_value(group, shared, "PixelMeasuresSequence", "SpacingBetweenSlices")
        )
        slope = _group_value(group, shared, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _group_value(group, shared, "PixelValueTransformationSequence", "RescaleIntercept")
        values["slope"] = _float(slope, values["slope"]) or 1.0
        values["intercept"] = _float(intercept, values["intercept"])
        echo = _float(_group_value(group, shared, "MREchoSequence", "EffectiveEchoTime"))
        values["echo"] = f"{echo:g}" if echo is not None else values["echo"]
        stack = _group_value(group, None, "FrameContentSequence", "StackID")
        values["stack_id"] = str(stack or "")
        temporal = _group_value(group, None, "FrameContentSequence", "TemporalPositionIndex")
        values["temporal_key"] = (_int(temporal), 0, 0.0, "", index)
        values["instance_number"] = index + 1
        headers.append(SliceHeader(**values))
    return headers


def read_headers(path: str | os.PathLike) -> list[SliceHeader]:
    """Read the header of one file (never its pixels).

    Args:
        path: a file.

    Returns:
        one :class:`SliceHeader` per 2D image in the file (frames of enhanced images;
        one header for a whole mosaic). ``problem`` is set for truncated or pixel-less images.

    Raises:
        NotDicomError: the file is not DICOM.
        OSError: the file cannot be opened (permissions, symlink loop, ...).
        Exception: anything pydicom raises on a corrupt DICOM header.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    with open(path, "rb") as handle:
        # only the tags the scan needs: the rest is skipped, not parsed
        tags = list(_wanted_tags())
        try:
            dataset = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=tags)
        except InvalidDicomError as error:
            handle.seek(0)
            if handle.read(2) != b"\x08\x00":  # not even an old headerless file starting at group 0008
                raise NotDicomError(f"{path} is not DICOM: {error}") from None
            handle.seek(0)
            dataset = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=tags, force=True)
        stopped_at = handle.tell()
        file_size = os.fstat(handle.fileno()).st_size
        meta = getattr(dataset, "file_meta", None)
        if meta is not None and str(meta.get("MediaStorageSOPClassUID", "")) == _MEDIA_DIRECTORY:
            raise NotDicomError(f"{path} is a DICOMDIR, not an image")
        if "SeriesInstanceUID" not in dataset:
            raise ValueError("header ends before SeriesInstanceUID (truncated or incomplete file)")
        common = _common(path, dataset, "")
        kind, offset, problem = _pixel_element(handle, common, file_size, stopped_at)
    if not kind and common["rows"]:
        problem = problem or "no pixel data"
    common["problem"] = problem
    common["pixel_kind"] = kind
    common["pixel_offset"] = offset
    common["extra"] = {"dataset": dataset}  # find_series keeps it for each series' first image only
    if "PerFrameFunctionalGroupsSequence" in dataset:
        return _frames(common, dataset)
    count, normal, mosaic_problem = _mosaic(common["image_type"], dataset)
    common["mosaic_count"] = count
    common["mosaic_normal"] = normal
    common["problem"] = common["problem"] or mosaic_problem
    return [SliceHeader(**common)]
