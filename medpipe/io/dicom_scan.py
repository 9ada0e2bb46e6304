"""Finding DICOM series in a folder tree, and deciding which of them can be loaded.

:func:`find_series` reads headers only. It groups images by SeriesInstanceUID (and
SeriesNumber), then splits a group where one UID holds several volumes: by orientation,
echo, image type (its first three values), enhanced stack, and acquisition when each
acquisition covers different slice locations. Each resulting :class:`DicomSeries` has a
``status``:

* ``ok``: a regular 2D, 3D or 4D grid (``kind`` says which, and whether it is a mosaic or an
  enhanced multi-frame stack);
* ``excluded``: a localizer, a derived image, a secondary capture or a non-image object;
* ``error``: anything that would give a wrong volume (missing or duplicate slices, uneven
  spacing, gantry tilt, mixed matrix sizes, truncated or unreadable files), with the reason.

Gantry-tilted stacks are refused with their angle rather than resampled: dcm2niix's
tilt-corrected output is a resampling, and a sheared affine is not representable in the
orthogonal grids medpipe's transforms expect.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medpipe.io.dicom_geometry import TILT_TOLERANCE_DEG, analyse_positions, slice_normal, stack_affine
from medpipe.io.dicom_headers import NotDicomError, SliceHeader, read_headers

__all__ = ["DicomSeries", "find_series", "STATUSES"]

STATUSES = ("ok", "excluded", "error")
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
_LOCALIZER_NAMES = re.compile(r"\b(locali[sz]er|scout|survey|pilot|topogram|scanogram|surview)\b", re.IGNORECASE)


@dataclass
class DicomSeries:
    """One loadable (or refused) volume found by :func:`find_series`.

    Attributes:
        uid: SeriesInstanceUID ("" for files that could not be read at all).
        series_number: SeriesNumber as text.
        description: SeriesDescription.
        modality: Modality.
        status: ``"ok"``, ``"excluded"`` or ``"error"``.
        reason: why the status is not ``ok`` (empty for ``ok``).
        kind: ``"2d"``, ``"3d"`` or ``"4d"``, prefixed by ``"mosaic-"`` or ``"enhanced-"``.
        headers: the images in load order: volume-major (all slices of volume 0 sorted along
            the slice normal, then volume 1, ...); one header per mosaic file.
        shape: ``(X, Y, Z)`` or ``(X, Y, Z, T)`` of the volume :func:`load_series` returns.
        affine: float64 ``(4, 4)`` RAS affine, None unless ``status == "ok"``.
        notes: extra facts worth printing (e.g. ``"4D: 10 volumes"``).
    """

    uid: str
    series_number: str
    description: str
    modality: str
    status: str
    reason: str
    kind: str
    headers: list[SliceHeader]
    shape: tuple[int, ...] = ()
    affine: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    split: str = ""

    @property
    def files(self) -> list[Path]:
        """The distinct files of the series, in load order."""
        return list(dict.fromkeys(header.path for header in self.headers))

    @property
    def folder(self) -> Path | None:
        """The deepest folder holding all the files."""
        files = self.files
        if not files:
            return None
        return Path(os.path.commonpath([str(path.parent) for path in files]))

    @property
    def label(self) -> str:
        """A short readable name: number, description, split."""
        parts = [part for part in (self.series_number, self.description, self.split) if part]
        return " ".join(parts) or self.uid or "unreadable files"


def _walk(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """All files under ``folder`` once each (symlinked folders followed, loops cut)."""
    files: list[Path] = []
    failures: list[tuple[Path, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()

    def on_error(error: OSError):
        failures.append((Path(error.filename or folder), f"unreadable folder: {error.strerror or error}"))

    for root, dirs, names in os.walk(folder, followlinks=True, onerror=on_error):
        try:
            info = os.stat(root)
        except OSError as error:
            failures.append((Path(root), f"unreadable folder: {error.strerror}"))
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen_dirs:
            dirs[:] = []  # a symlink loop or a second link to a folder already scanned
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            try:
                real = os.path.realpath(path, strict=True)
            except (OSError, RuntimeError) as error:
                failures.append((path, f"unreadable file {path.name}: {getattr(error, 'strerror', None) or error}"))
                continue
            if real not in seen_files:
                seen_files.add(real)
                files.append(path)
    return files, failures


def _split_key(header: SliceHeader) -> tuple:
    orientation = tuple(np.round(header.orientation, 4) + 0.0) if header.orientation is not None else None
    return (orientation, header.echo, header.image_type[:3], header.stack_id, header.mosaic_count > 0)


def _exclusion(header: SliceHeader) -> str:
    if not header.rows or not header.pixel_kind and not header.problem:
        return f"not an image (SOP class {header.sop_class_uid or 'unknown'})"
    if "LOCALIZER" in header.image_type:
        return "localizer"
    if _LOCALIZER_NAMES.search(header.series_description):
        return f"localizer (SeriesDescription {header.series_description!r})"
    if header.sop_class_uid.startswith(_SECONDARY_CAPTURE) or {"SCREEN SAVE", "SECONDARY CAPTURE"} & set(
        header.image_type
    ):
        return "secondary capture / screenshot"
    if header.image_type[:1] == ("DERIVED",):
        return "derived image (ImageType " + "\\".join(header.image_type) + ")"
    if header.samples_per_pixel != 1:
        return f"colour image (SamplesPerPixel={header.samples_per_pixel})"
    return ""


def _new_series(headers: list[SliceHeader], status: str, reason: str, kind: str = "", split: str = "") -> DicomSeries:
    first = headers[0]
    return DicomSeries(
        first.series_uid, first.series_number, first.series_description, first.modality,
        status, reason, kind, headers, split=split,
    )


def _evaluate_mosaic(headers: list[SliceHeader]) -> DicomSeries:
    first = headers[0]
    positions = np.stack([header.position for header in headers])
    if np.max(np.abs(positions - positions[0])) > 1e-3:
        return _new_series(headers, "error", "mosaic files of one series sit at different positions", "mosaic")
    headers = sorted(headers, key=lambda header: header.temporal_key)
    tiles_per_side = math.ceil(math.sqrt(first.mosaic_count))
    tile_rows, tile_columns = first.rows // tiles_per_side, first.columns // tiles_per_side
    spacing = first.spacing_between_slices or first.slice_thickness or 1.0
    row_spacing, column_spacing = first.pixel_spacing
    origin = (
        first.position
        + first.orientation[:3] * column_spacing * (first.columns - tile_columns) / 2
        + first.orientation[3:] * row_spacing * (first.rows - tile_rows) / 2
    )
    series = _new_series(headers, "ok", "", "mosaic-4d" if len(headers) > 1 else "mosaic-3d")
    series.shape = (tile_columns, tile_rows, first.mosaic_count) + ((len(headers),) if len(headers) > 1 else ())
    series.affine = stack_affine(origin, first.orientation, first.pixel_spacing, first.mosaic_normal * spacing)
    series.notes.append(f"Siemens mosaic: {first.mosaic_count} tiles of {tile_columns}x{tile_rows}")
    return series


def _evaluate_stack(headers: list[SliceHeader], split: str = "") -> list[DicomSeries]:
    first = headers[0]
    prefix = "enhanced-" if first.frame is not None else ""
    if first.mosaic_count:
        return [_evaluate_mosaic(headers)]
    geometry = analyse_positions(np.stack([header.position for header in headers]), first.orientation)
    if geometry.problems or geometry.repeats.max() > 1:
        # one UID, several acquisitions covering different locations: one series per acquisition
        by_acquisition: dict[int, list[SliceHeader]] = defaultdict(list)
        for header in headers:
            by_acquisition[header.acquisition_number].append(header)
        if len(by_acquisition) > 1 and not split:
            parts = [analyse_positions(np.stack([h.position for h in group]), first.orientation)
                     for group in by_acquisition.values()]
            distinct = len({tuple(np.round(part.locations, 2)) for part in parts}) == len(parts)
            if distinct and all(not part.problems and len(part.locations) > 1 for part in parts):
                return [series for number, group in sorted(by_acquisition.items())
                        for series in _evaluate_stack(group, split=f"acquisition {number}")]
    problems = list(geometry.problems)
    tilt = max(abs(first.gantry_tilt), geometry.tilt_deg if len(geometry.locations) > 1 else 0.0)
    if tilt > TILT_TOLERANCE_DEG:
        problems.insert(0, f"gantry tilt of {tilt:.1f} degrees (GantryDetectorTilt {first.gantry_tilt:+.1f}); "
                           "tilted stacks are refused rather than resampled")
    if problems:
        return [_new_series(headers, "error", "; ".join(problems), prefix + "3d", split)]
    ordered = [headers[index] for index in geometry.order]
    volumes = int(geometry.repeats[0])
    slices = len(geometry.locations)
    grid = [ordered[location * volumes:(location + 1) * volumes] for location in range(slices)]
    grid = [sorted(members, key=lambda header: header.temporal_key) for members in grid]
    load_order = [grid[location][volume] for volume in range(volumes) for location in range(slices)]
    if slices > 1:
        step = (grid[-1][0].position - grid[0][0].position) / (slices - 1)
        kind = "4d" if volumes > 1 else "3d"
    else:
        spacing = first.spacing_between_slices or first.slice_thickness or 1.0
        step = slice_normal(first.orientation) * spacing
        kind = "4d" if volumes > 1 else "2d"
    series = _new_series(load_order, "ok", "", prefix + kind, split)
    series.shape = (first.columns, first.rows, slices) + ((volumes,) if volumes > 1 else ())
    series.affine = stack_affine(grid[0][0].position, first.orientation, first.pixel_spacing, step)
    if volumes > 1:
        series.notes.append(f"4D: {volumes} volumes of {slices} slices")
    if prefix:
        series.notes.append(f"enhanced multi-frame{' stack ' + first.stack_id if first.stack_id else ''}")
    return [series]


def _evaluate(headers: list[SliceHeader], split: str) -> list[DicomSeries]:
    reasons = [f"{header.path.name}: {header.problem}" for header in headers if header.problem]
    if reasons:
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        return [_new_series(headers, "error", "; ".join(reasons[:3]) + more, split=split)]
    sizes = sorted({(header.rows, header.columns) for header in headers})
    if len(sizes) > 1:
        counts = {f"{rows}x{columns}": sum((h.rows, h.columns) == (rows, columns) for h in headers)
                  for rows, columns in sizes}
        return [_new_series(headers, "error", f"mixed matrix sizes (rows x columns: count) {counts}", split=split)]
    first = headers[0]
    if first.position is None or first.orientation is None or first.pixel_spacing is None or any(
        header.position is None for header in headers
    ):
        return [_new_series(headers, "error", "no ImagePositionPatient / ImageOrientationPatient / PixelSpacing",
                            split=split)]
    return _evaluate_stack(headers, split)


def _describe_split(key: tuple, keys: list[tuple]) -> str:
    labels = []
    names = ("orientation", "echo", "image type", "stack", "mosaic")
    for index, name in enumerate(names):
        if len({other[index] for other in keys}) > 1:
            value = key[index]
            if name == "orientation" and value is not None:
                normal = np.abs(slice_normal(np.asarray(value)))
                value = "LR AP SI".split()[int(np.argmax(normal))] + " normal"
            elif name == "image type":
                value = "\\".join(value)
            labels.append(f"{name} {value}")
    return ", ".join(labels)


def _classify_group(headers: list[SliceHeader]) -> list[DicomSeries]:
    """Split one (SeriesInstanceUID, SeriesNumber) group into volumes and give each a status."""
    images = [header for header in headers if header.rows]
    if not images:
        return [_new_series(headers, "excluded", _exclusion(headers[0]))]
    # images whose header stops early belong to every part: a part must not look complete without them
    broken = [header for header in headers if not header.rows]
    for header in broken:
        header.problem = header.problem or "no Rows/Columns in the header (truncated, or not an image)"
    parts: dict[tuple, list[SliceHeader]] = defaultdict(list)
    for header in images:
        parts[_split_key(header)].append(header)
    keys = list(parts)
    labels = {key: _describe_split(key, keys) if len(keys) > 1 else "" for key in keys}
    single_slices = all(len(members) == 1 for members in parts.values())
    if len(keys) > 1 and single_slices and None not in {key[0] for key in keys} \
            and len({key[0] for key in keys}) == len(keys):
        return [_new_series(parts[key], "excluded", "localizer (one slice per orientation)", split=labels[key])
                for key in keys]
    results = []
    for key in keys:
        exclusion = _exclusion(parts[key][0])
        if exclusion:
            results.append(_new_series(parts[key], "excluded", exclusion, split=labels[key]))
        else:
            results.extend(_evaluate(parts[key] + broken, labels[key]))
    return results


def find_series(folder: str | os.PathLike) -> list[DicomSeries]:
    """Scan a folder tree for DICOM series (headers only) and give each a status.

    Non-DICOM files are skipped. A file that cannot be read (permissions, symlink loop,
    corrupt header) makes the series of its folder ``error`` when that folder holds one
    series, else it is listed as its own ``error`` entry; other series still load.

    Args:
        folder: a folder (searched recursively, symlinks followed once) or a single file.

    Returns:
        the series, sorted by folder, series number and label.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"`folder` must be an existing folder or DICOM file, got {str(folder)!r}")
    if folder.is_file():
        paths, failures = [folder], []
    else:
        paths, failures = _walk(folder)
    groups: dict[tuple, list[SliceHeader]] = defaultdict(list)
    for path in paths:
        try:
            headers = read_headers(path)
        except NotDicomError:
            continue
        except Exception as error:  # any unreadable file becomes an error entry, never a crash
            detail = getattr(error, "strerror", None) or str(error) or type(error).__name__
            failures.append((path, f"unreadable file {path.name}: {detail}"))
            continue
        for header in headers:
            groups[(header.series_uid, header.series_number)].append(header)

    results: list[DicomSeries] = []
    for headers in groups.values():
        results.extend(_classify_group(headers))

    for path, reason in failures:
        owners = [series for series in results if series.folder == path.parent and series.status != "excluded"]
        if len(owners) == 1:
            owner = owners[0]
            owner.status, owner.affine = "error", None
            owner.reason = "; ".join(part for part in (owner.reason, reason) if part)
        else:
            results.append(DicomSeries("", "", f"unreadable: {path}", "", "error", reason, "", []))
    for series in results:  # keep one parsed header per series (for metadata), free the others
        keep = series.headers[0].extra if series.headers else None
        for header in series.headers[1:]:
            if header.extra is not keep:
                header.extra = {}
    results.sort(key=lambda s: (str(s.folder or ""), _number(s.series_number), s.label))
    return results


def _number(text: str) -> tuple:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
