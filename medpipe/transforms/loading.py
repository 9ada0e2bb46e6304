"""Loading scans into MONAI ``MetaTensor``s: DICOM folders or series, NIfTI/NRRD/MHA, k-space.

``LoadScan`` is the array transform, ``LoadScand`` its dictionary twin (a thin loop over keys).
What comes out, by source:

* image volumes (DICOM series, NIfTI, NRRD, MHA): ``float32 (C, X, Y, Z)``, channel first as
  MONAI expects, with the RAS ``affine`` of the voxel grid. A 3D volume gets ``C = 1``; a 4D
  DICOM series ``(X, Y, Z, T)`` puts its time axis in the channel position, ``(T, X, Y, Z)``;
  a list of files stacks them as channels in list order (BraTS: t1, t1ce, t2, flair ->
  ``(4, X, Y, Z)``) after checking that their grids agree;
* k-space (fastMRI ``.h5``, BART ``.cfl``/``.hdr``): ``complex64 (slices, coils, H, W)``,
  unchanged (the coil axis is already axis 1), identity affine, and the file's ``mask``,
  ``reconstruction_rss`` and attributes in the meta dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, Transform

from medpipe.io.dicom import DicomSeries, LoadedSeries, find_series, load_series
from medpipe.io.kspace import read_cfl, read_fastmri_h5
from medpipe.io.nifti import read_image

__all__ = ["LoadScan", "LoadScand", "load_scan"]

_IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
GEOMETRY_TOLERANCE_MM = 1e-3


def _is_kspace(path: Path) -> bool:
    if path.suffix.lower() in (".h5", ".hdf5", ".cfl", ".hdr"):
        return True
    return not path.exists() and path.with_name(path.name + ".cfl").is_file()  # a BART base path


def _pick_series(folder: Path, series_description: str | None) -> DicomSeries:
    found = find_series(folder)
    usable = [series for series in found if series.status == "ok"]
    if series_description is not None:
        pattern = re.compile(series_description, re.IGNORECASE)
        usable = [series for series in usable if pattern.search(series.description)]
    if len(usable) == 1:
        return usable[0]
    listing = "; ".join(f"{s.label!r} ({s.status}{': ' + s.reason if s.reason else ''})" for s in found) or "none"
    if not usable:
        raise ValueError(
            f"`source` must hold one loadable DICOM series"
            f"{' matching ' + repr(series_description) if series_description else ''}, got none in "
            f"{str(folder)!r}; series found: {listing}"
        )
    raise ValueError(
        f"`source` must hold exactly one loadable DICOM series, got {len(usable)} in {str(folder)!r}: "
        f"{listing}; pass series_description=<regex> to choose one"
    )


def load_scan(source, *, series_description: str | None = None, keep_phi: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read one source into ``(array, affine, meta)`` without adding a channel axis.

    Args:
        source: a DICOM folder or file, a :class:`DicomSeries`, a :class:`LoadedSeries`, a
            NIfTI/NRRD/MHA file, or a fastMRI ``.h5`` / BART ``.cfl`` k-space file.
        series_description: regex choosing one series when a DICOM folder holds several.
        keep_phi: keep patient identifiers in the DICOM metadata.

    Returns:
        ``array`` (``(X, Y, Z[, T])`` images or complex64 ``(slices, coils, H, W)`` k-space),
        float64 ``(4, 4)`` RAS ``affine``, and a ``meta`` dict.

    Raises:
        FileNotFoundError: the path does not exist.
        TypeError: unsupported source type.
        ValueError: unsupported file, or a DICOM folder without exactly one loadable series.
    """
    if isinstance(source, LoadedSeries):
        return source.array, source.affine, dict(source.metadata)
    if isinstance(source, DicomSeries):
        loaded = load_series(source, keep_phi=keep_phi)
        meta = dict(loaded.metadata, filename_or_obj=str(source.folder))
        return loaded.array, loaded.affine, meta
    if not isinstance(source, (str, Path)):
        raise TypeError(
            f"`source` must be a path, a DicomSeries or a LoadedSeries, got {type(source).__name__}"
        )
    path = Path(source)
    if _is_kspace(path):
        if path.suffix.lower() not in (".h5", ".hdf5"):
            kspace, extra = read_cfl(path), {}
        else:
            if not path.is_file():
                raise FileNotFoundError(f"`source` must be an existing file, got {str(path)!r}")
            data = read_fastmri_h5(path)
            kspace = data["kspace"]
            extra = {key: data[key] for key in ("mask", "reconstruction_rss", "attrs") if data[key] is not None}
        return kspace, np.eye(4), dict(extra, filename_or_obj=str(path), kind="kspace")
    if not path.exists():
        raise FileNotFoundError(f"`source` must be an existing file or folder, got {str(path)!r}")
    if path.is_dir() or not path.name.lower().endswith(_IMAGE_SUFFIXES):
        loaded = load_series(_pick_series(path, series_description), keep_phi=keep_phi)
        return loaded.array, loaded.affine, dict(loaded.metadata, filename_or_obj=str(path))
    volume = read_image(path)
    meta = {"filename_or_obj": str(path), "qform_code": volume.qform_code, "sform_code": volume.sform_code}
    return volume.array, volume.affine, meta


def _spacing(affine: np.ndarray) -> list[float]:
    return np.linalg.norm(affine[:3, :3], axis=0).round(4).tolist()


class LoadScan(Transform):
    """Load a scan (or a list of scans, stacked as channels) as a channel-first ``MetaTensor``.

    Args:
        dtype: dtype of image volumes (default float32; None keeps the stored dtype).
            k-space always stays complex64.
        series_description: regex choosing one series when a DICOM folder holds several.
        keep_phi: keep patient identifiers in the meta dictionary.

    Returns (from ``__call__``):
        ``MetaTensor`` ``(C, X, Y, Z)`` with ``.affine`` float64 ``(4, 4)`` RAS, or complex64
        ``(slices, coils, H, W)`` for k-space.
    """

    def __init__(self, dtype=np.float32, series_description: str | None = None, keep_phi: bool = False):
        self.dtype = dtype
        self.series_description = series_description
        self.keep_phi = keep_phi

    def _one(self, source) -> tuple[np.ndarray, np.ndarray, dict]:
        array, affine, meta = load_scan(source, series_description=self.series_description, keep_phi=self.keep_phi)
        if meta.get("kind") == "kspace":
            return array, affine, meta
        if array.ndim == 4:
            array = np.moveaxis(array, -1, 0)  # time -> channel
        elif array.ndim == 3:
            array = array[None]
        else:
            raise ValueError(f"`source` must load as a 3D or 4D volume, got shape {array.shape} from {source!r}")
        if self.dtype is not None:
            array = array.astype(self.dtype, copy=False)
        return array, affine, meta

    def __call__(self, source) -> MetaTensor:
        if isinstance(source, (list, tuple)):
            if not source:
                raise ValueError("`source` must be a non-empty list of scans to stack, got an empty list")
            parts = [self._one(item) for item in source]
            first_array, first_affine, meta = parts[0]
            for item, (array, affine, _) in zip(source[1:], parts[1:]):
                if meta.get("kind") == "kspace":
                    raise ValueError(f"`source` must not stack k-space files, got {list(map(str, source))}")
                if array.shape[1:] != first_array.shape[1:] or not np.allclose(
                    affine, first_affine, atol=GEOMETRY_TOLERANCE_MM
                ):
                    raise ValueError(
                        f"`source` scans must share one voxel grid to stack as channels, got "
                        f"{source[0]!s}: shape {first_array.shape[1:]} spacing {_spacing(first_affine)} and "
                        f"{item!s}: shape {array.shape[1:]} spacing {_spacing(affine)}"
                        + ("" if array.shape[1:] != first_array.shape[1:] else " (affines differ)")
                    )
            array = np.concatenate([part[0] for part in parts], axis=0)
            meta = dict(meta, filename_or_obj=[str(item) for item in source])
            affine = first_affine
        else:
            array, affine, meta = self._one(source)
        meta = dict(meta)
        meta["original_affine"] = affine.copy()
        meta["spatial_shape"] = np.asarray(array.shape[1:]) if meta.get("kind") != "kspace" else np.asarray(array.shape[2:])
        meta["original_channel_dim"] = 0 if meta.get("kind") != "kspace" else 1
        return MetaTensor(torch.as_tensor(np.ascontiguousarray(array)), affine=torch.as_tensor(affine), meta=meta)


class LoadScand(MapTransform):
    """Dictionary twin of :class:`LoadScan`: each key's value (a path, a series or a list of
    paths to stack as channels) is replaced by the loaded ``MetaTensor``.

    Args:
        keys: keys to load.
        dtype, series_description, keep_phi: as in :class:`LoadScan`.
        allow_missing_keys: skip keys that are absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        dtype=np.float32,
        series_description: str | None = None,
        keep_phi: bool = False,
        allow_missing_keys: bool = False,
    ):
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadScan(dtype=dtype, series_description=series_description, keep_phi=keep_phi)

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        result = dict(data)
        for key in self.key_iterator(result):
            result[key] = self.loader(result[key])
        return result

