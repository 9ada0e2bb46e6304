"""Loading the pixels of a :class:`~medpipe.io.dicom_scan.DicomSeries`.

Uncompressed little/big-endian pixels are read straight from the offset recorded during the
scan (one ``np.fromfile`` per image). Everything else (JPEG, JPEG-LS, JPEG 2000, RLE, deflate,
signed data with unused high bits) is decoded by pydicom with its pylibjpeg / GDCM handlers.
RescaleSlope and RescaleIntercept are applied per image. Siemens mosaics are cut into their
tiles. The result is ``(X, Y, Z)`` or ``(X, Y, Z, T)`` (X = column index, Y = row index), in
the voxel order of the series' RAS affine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from medpipe.io.dicom_headers import METADATA_KEYWORDS, PHI_KEYWORDS, SliceHeader
from medpipe.io.dicom_scan import DicomSeries

__all__ = ["LoadedSeries", "load_series", "series_metadata", "PHI_KEYWORDS", "METADATA_KEYWORDS"]

@dataclass
class LoadedSeries:
    """Pixels and geometry of one series.

    Attributes:
        array: ``(X, Y, Z)`` or ``(X, Y, Z, T)``, column-major (Fortran order, like NIfTI);
            the stored integer dtype when no rescale changes values, int16/int32 for integer
            rescales, else float32.
        affine: float64 ``(4, 4)`` voxel-to-RAS (mm).
        metadata: selected acquisition and geometry tags (no patient identifiers unless
            asked for), plus ``kind``, ``shape`` and ``voxel_spacing``.
    """

    array: np.ndarray
    affine: np.ndarray
    metadata: dict = field(default_factory=dict)


_TEXT_NUMBERS = {"DS": float, "IS": int}
_BINARY_NUMBERS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}


def _plain_value(element):
    """JSON-ready value of a data element, decoded from its raw bytes when pydicom has not
    converted it yet (conversion through pydicom is most of the cost of reading metadata)."""
    import struct

    from pydicom.datadict import dictionary_VR

    value = element.value
    if value is None:
        return None
    if isinstance(value, bytes):
        vr = str(element.VR or dictionary_VR(element.tag))
        if vr in _BINARY_NUMBERS:
            code = _BINARY_NUMBERS[vr]
            order = "<" if getattr(element, "is_little_endian", True) else ">"
            numbers = list(struct.unpack(f"{order}{len(value) // struct.calcsize(code)}{code}", value))
            return numbers[0] if len(numbers) == 1 else numbers
        if vr in ("SQ", "OB", "OW", "UN"):
            return None
        parts = [part.strip(" \x00") for part in value.decode("latin-1").split("\\")]
        convert = _TEXT_NUMBERS.get(vr)
        if convert is not None:
            try:
                parts = [convert(float(part)) if convert is int else convert(part) for part in parts if part]
            except ValueError:
                pass
        parts = [part for part in parts if part != ""]
        return parts[0] if len(parts) == 1 else (parts or None)
    return _json_value(value)


def _json_value(value):
    from pydicom.multival import MultiValue
    from pydicom.valuerep import DSfloat, IS, PersonName

    if isinstance(value, (list, tuple, MultiValue)):
        return [_json_value(item) for item in value]
    if isinstance(value, (DSfloat, float)):
        return float(value)
    if isinstance(value, (IS, int)):
        return int(value)
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return str(value) if value is not None else None


def series_metadata(series: DicomSeries, *, keep_phi: bool = False) -> dict:
    """Selected tags of the series' first file, without PHI unless ``keep_phi``."""
    import pydicom
    from pydicom.datadict import tag_for_keyword

    keywords = METADATA_KEYWORDS + (PHI_KEYWORDS if keep_phi else ())
    dataset = series.headers[0].extra.get("dataset")  # the header the scan already read
    if dataset is None:
        dataset = pydicom.dcmread(
            series.headers[0].path, stop_before_pixels=True, specific_tags=list(keywords), force=True
        )
    metadata = {}
    for keyword in keywords:
        element = dataset.get_item(tag_for_keyword(keyword))
        value = _plain_value(element) if element is not None else None
        if value not in (None, "", []):
            metadata[keyword] = value
    metadata["kind"] = series.kind
    metadata["shape"] = list(series.shape)
    if series.affine is not None:
        metadata["voxel_spacing"] = np.linalg.norm(series.affine[:3, :3], axis=0).round(6).tolist()
    if series.notes:
        metadata["notes"] = list(series.notes)
    return metadata


def _native_dtype(header: SliceHeader) -> np.dtype:
    kind = "i" if header.pixel_representation else "u"
    endian = ">" if header.transfer_syntax == "1.2.840.10008.1.2.2" else "<"
    return np.dtype(f"{endian}{kind}{header.bits_allocated // 8}")


def _fast_path(header: SliceHeader) -> bool:
    return (
        header.pixel_offset is not None
        and header.pixel_kind == "int"
        and header.samples_per_pixel == 1
        and header.bits_allocated in (8, 16, 32)
        and (header.bits_stored == header.bits_allocated or header.pixel_representation == 0)
    )


# JPEG 2000 lossless / lossy: decoded directly with OpenJPEG, else by GDCM through pydicom
_JPEG2000 = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}


def _has_gdcm() -> bool:
    try:
        import gdcm  # noqa: F401
    except ImportError:
        return False
    return True


class _PixelCache:
    """Decoded pixel arrays of files read with pydicom, so multi-frame files decode once."""

    def __init__(self):
        self.path = None
        self.frames = None

    def frame(self, header: SliceHeader) -> np.ndarray:
        if self.path != header.path:
            from pydicom.pixels import pixel_array

            plugin = "gdcm" if header.transfer_syntax in _JPEG2000 and _has_gdcm() else ""
            self.frames = pixel_array(header.path, decoding_plugin=plugin)
            self.path = header.path
        if header.frame is not None and header.number_of_frames > 1:
            return self.frames[header.frame]
        return self.frames


def _decode_jpeg2000(header: SliceHeader) -> np.ndarray | None:
    """A single-frame JPEG 2000 image decoded straight from its fragments with OpenJPEG, or
    None when pydicom's handler should decide (sign or precision quirks, missing decoder)."""
    try:
        import openjpeg
    except ImportError:
        return None
    from pydicom.encaps import generate_frames

    with open(header.path, "rb") as handle:
        handle.seek(header.encapsulated_offset)
        data = handle.read()
    pixels = openjpeg.decode(next(generate_frames(data, number_of_frames=1)))
    kind = "i" if header.pixel_representation else "u"
    if pixels.shape != (header.rows, header.columns) or pixels.dtype.kind != kind or \
            pixels.dtype.itemsize > header.bits_allocated // 8:
        return None
    return pixels.astype(np.dtype(f"{kind}{header.bits_allocated // 8}"), copy=False)


def _read_image(header: SliceHeader, cache: _PixelCache) -> np.ndarray:
    """``(rows, columns)`` stored values of one image (a whole mosaic for mosaic files)."""
    if header.encapsulated_offset is not None and header.transfer_syntax in _JPEG2000 and \
            header.number_of_frames == 1 and header.samples_per_pixel == 1:
        try:
            decoded = _decode_jpeg2000(header)
        except Exception:  # anything odd: pydicom's handlers give the authoritative answer or error
            decoded = None
        if decoded is not None:
            return decoded
    if _fast_path(header):
        count = header.rows * header.columns
        offset = header.pixel_offset + (header.frame or 0) * count * header.bits_allocated // 8
        pixels = np.fromfile(header.path, dtype=_native_dtype(header), count=count, offset=offset)
        if pixels.size != count:
            raise ValueError(f"`series` file {str(header.path)!r} must hold {count} pixels, got {pixels.size}")
        return pixels.reshape(header.rows, header.columns).astype(pixels.dtype.newbyteorder("="), copy=False)
    try:
        return np.asarray(cache.frame(header))
    except Exception as error:
        raise ValueError(
            f"`series` file {str(header.path)!r} must decode (transfer syntax {header.transfer_syntax}), "
            f"got {type(error).__name__}: {error}"
        ) from error


def _untile(mosaic: np.ndarray, count: int) -> np.ndarray:
    """``(rows, columns)`` mosaic -> ``(tile_rows, tile_columns, count)`` slices, row-major tiles."""
    side = math.ceil(math.sqrt(count))
    tile_rows, tile_columns = mosaic.shape[0] // side, mosaic.shape[1] // side
    tiles = mosaic[: side * tile_rows, : side * tile_columns].reshape(side, tile_rows, side, tile_columns)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(side * side, tile_rows, tile_columns)[:count]
    return tiles.transpose(1, 2, 0)


def _output_dtype(headers: list[SliceHeader], images: list[np.ndarray]) -> np.dtype | None:
    """None when rescaling changes nothing, else the dtype the rescaled values need."""
    slopes = np.array([header.slope for header in headers])
    intercepts = np.array([header.intercept for header in headers])
    if np.all(slopes == 1) and np.all(intercepts == 0):
        return None
    if np.all(slopes == 1) and np.all(intercepts == np.round(intercepts)) and images[0].dtype.kind in "iu":
        low = min(int(image.min()) for image in images) + intercepts.min()
        high = max(int(image.max()) for image in images) + intercepts.max()
        if low >= np.iinfo(np.int16).min and high <= np.iinfo(np.int16).max:
            return np.dtype(np.int16)
        return np.dtype(np.int32)
    return np.dtype(np.float32)


def load_series(series: DicomSeries, *, keep_phi: bool = False) -> LoadedSeries:
    """Load the pixels of a series found by :func:`~medpipe.io.find_series`.

    Args:
        series: a series with ``status == "ok"``.
        keep_phi: include patient and institution identifiers in ``metadata``.

    Returns:
        :class:`LoadedSeries` with ``array`` ``(X, Y, Z[, T])`` in the voxel order of the
        RAS ``affine``; values are ``stored * RescaleSlope + RescaleIntercept``.

    Raises:
        TypeError: ``series`` is not a :class:`DicomSeries`.
        ValueError: the series is excluded or in error (the message gives the reason), or
            a file fails to decode.
    """
    if not isinstance(series, DicomSeries):
        raise TypeError(f"`series` must be a DicomSeries from find_series, got {type(series).__name__}")
    if series.status != "ok":
        raise ValueError(
            f"`series` must have status 'ok' to load, got {series.status!r} for {series.label!r}: {series.reason}"
        )
    cache = _PixelCache()
    first = _read_image(series.headers[0], cache)
    stored = np.empty((len(series.headers),) + first.shape, dtype=first.dtype)  # (N, rows, columns)
    stored[0] = first
    for index, header in enumerate(series.headers[1:], start=1):
        stored[index] = _read_image(header, cache)
    out_dtype = _output_dtype(series.headers, [stored])
    if out_dtype is not None:
        values = np.empty(stored.shape, dtype=out_dtype)
        for index, header in enumerate(series.headers):  # per image: slopes may differ (Philips)
            if out_dtype.kind == "f" or header.slope != 1:
                values[index] = stored[index] * header.slope + header.intercept
            else:
                values[index] = stored[index].astype(np.int32) + int(header.intercept)
        stored = values
    if series.kind.startswith("mosaic"):
        count = series.headers[0].mosaic_count
        tiles = np.stack([_untile(image, count) for image in stored], axis=-1)  # (rows, columns, Z, T)
        array = np.swapaxes(tiles, 0, 1)  # (rows, columns) -> (X=column, Y=row)
        if len(series.shape) == 3:
            array = array[..., 0]
    else:
        depth = series.shape[2]
        volumes = stored.reshape((-1, depth) + stored.shape[1:])  # (T, Z, rows, columns), volume-major
        array = volumes.transpose(3, 2, 1, 0)  # (X=column, Y=row, Z, T)
        if len(series.shape) == 3:
            array = array[..., 0]
    if array.shape != tuple(series.shape):
        raise ValueError(f"`series` must load as {tuple(series.shape)}, got {array.shape} for {series.label!r}")
    # column-major like NIfTI: no reordering copy (X varies fastest, as in the DICOM rows)
    return LoadedSeries(np.asfortranarray(array), series.affine.copy(), series_metadata(series, keep_phi=keep_phi))
