"""NIfTI through nibabel; NRRD and MetaImage (MHA/MHD) through SimpleITK.

All readers return the voxel array in the file's voxel order together with a 4x4 float64
RAS affine (nibabel's convention). ITK images store LPS physical coordinates; they are turned
into RAS by negating the first two rows of the affine, ``ras = diag(-1, -1, 1) @ lps``.
ITK arrays come back from ``GetArrayFromImage`` as ``(Z, Y, X)`` and are transposed to
``(X, Y, Z)`` so the voxel order matches the affine's columns, as with NIfTI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Volume", "read_nifti", "write_nifti", "read_image", "write_image", "LPS_TO_RAS"]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_ITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")


@dataclass
class Volume:
    """A voxel array and where it is in space.

    Attributes:
        array: ``(X, Y, Z[, ...])`` voxels in the affine's voxel order, the file's dtype.
        affine: float64 ``(4, 4)`` voxel-to-RAS (mm).
        qform_code: NIfTI qform code (0 for non-NIfTI files).
        sform_code: NIfTI sform code (0 for non-NIfTI files).
        header: extra header fields (e.g. ``pixdim``, ``descrip``).
    """

    array: np.ndarray
    affine: np.ndarray
    qform_code: int = 1
    sform_code: int = 1
    header: dict = field(default_factory=dict)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in _NIFTI_SUFFIXES + _ITK_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _check_affine(affine) -> np.ndarray:
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise ValueError(f"`affine` must be a finite 4x4 matrix, got shape {affine.shape}")
    if not np.allclose(affine[3], [0, 0, 0, 1]):
        raise ValueError(f"`affine` must have last row [0, 0, 0, 1], got {affine[3].tolist()}")
    return affine


def read_nifti(path: str | os.PathLike) -> Volume:
    """Read a NIfTI-1/2 file, keeping the stored dtype, affine and qform/sform codes.

    The affine is nibabel's best affine (sform when its code > 0, else qform).

    Args:
        path: ``.nii`` or ``.nii.gz`` file.

    Returns:
        :class:`Volume` with ``array`` in the file's dtype (scaling applied only when the
        header has a slope other than 1 or an intercept other than 0, then float32).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a NIfTI file.
    """
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` must be an existing NIfTI file, got {str(path)!r}")
    if _suffix(path) not in _NIFTI_SUFFIXES:
        raise ValueError(f"`path` must end in .nii or .nii.gz, got {path.name!r}")
    image = nib.load(str(path))
    slope, inter = image.dataobj.slope, image.dataobj.inter
    if (slope is None or slope == 1) and (inter is None or inter == 0):
        array = np.asanyarray(image.dataobj.get_unscaled())
    else:
        array = np.asarray(image.get_fdata(dtype=np.float32))
    header = image.header
    _, qform_code = header.get_qform(coded=True)
    _, sform_code = header.get_sform(coded=True)
    extras = {"pixdim": header["pixdim"].tolist(), "descrip": header["descrip"].tobytes().rstrip(b"\0").decode()}
    return Volume(array, np.asarray(image.affine, dtype=np.float64), int(qform_code or 0), int(sform_code or 0), extras)


def write_nifti(
    path: str | os.PathLike,
    array: np.ndarray,
    affine: np.ndarray,
    *,
    qform_code: int = 1,
    sform_code: int = 1,
    description: str | None = None,
) -> Path:
    """Write a NIfTI-1 file whose sform holds ``affine`` exactly (float64 -> float32 sform).

    Args:
        array: ``(X, Y, Z[, T])`` voxels in the affine's voxel order; written in its dtype
            (bool becomes uint8).
        affine: float64 ``(4, 4)`` voxel-to-RAS.
        qform_code: NIfTI qform code (1 scanner, 2 aligned, ...); 0 leaves the qform unset.
        sform_code: NIfTI sform code.
        description: optional ``descrip`` text (at most 79 characters).

    Returns:
        the written path.

    Raises:
        ValueError: bad affine or codes.
    """
    import nibabel as nib

    path = Path(path)
    if _suffix(path) not in _NIFTI_SUFFIXES:
        raise ValueError(f"`path` must end in .nii or .nii.gz, got {path.name!r}")
    affine = _check_affine(affine)
    for name, code in (("qform_code", qform_code), ("sform_code", sform_code)):
        if code not in (0, 1, 2, 3, 4, 5):
            raise ValueError(f"`{name}` must be a NIfTI xform code 0-5, got {code!r}")
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    image = nib.Nifti1Image(array, affine)
    image.header.set_qform(affine if qform_code else None, code=int(qform_code))
    image.header.set_sform(affine, code=int(sform_code))
    image.header.set_xyzt_units("mm", "sec")
    if description is not None:
        image.header["descrip"] = description[:79].encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    return path


def read_image(path: str | os.PathLike) -> Volume:
    """Read NIfTI (nibabel) or NRRD / MHA / MHD (SimpleITK) into ``(X, Y, Z)`` + RAS affine.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unsupported suffix.
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix in _NIFTI_SUFFIXES:
        return read_nifti(path)
    if suffix not in _ITK_SUFFIXES:
        raise ValueError(
            f"`path` must end in one of {_NIFTI_SUFFIXES + _ITK_SUFFIXES}, got {path.name!r}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"`path` must be an existing image file, got {str(path)!r}")
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    dimension = image.GetDimension()
    array = sitk.GetArrayFromImage(image)
    if image.GetNumberOfComponentsPerPixel() > 1:
        array = np.moveaxis(array, -1, 0)
        spatial = array.transpose((0,) + tuple(range(array.ndim - 1, 0, -1)))
    else:
        spatial = array.transpose(tuple(range(array.ndim - 1, -1, -1)))
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(dimension, dimension)
    lps = np.eye(4)
    lps[:dimension, :dimension] = direction[:3, :3] * np.asarray(image.GetSpacing())[None, :3]
    lps[:dimension, 3] = np.asarray(image.GetOrigin())[:3]
    return Volume(np.ascontiguousarray(spatial), LPS_TO_RAS @ lps, 0, 0, {"itk_dimension": dimension})


def write_image(path: str | os.PathLike, array: np.ndarray, affine: np.ndarray) -> Path:
    """Write ``(X, Y, Z)`` voxels with a RAS affine as NIfTI, NRRD, MHA or MHD.

    Raises:
        ValueError: unsupported suffix, or an affine with shear (ITK cannot store it).
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix in _NIFTI_SUFFIXES:
        return write_nifti(path, array, affine)
    if suffix not in _ITK_SUFFIXES:
        raise ValueError(f"`path` must end in one of {_NIFTI_SUFFIXES + _ITK_SUFFIXES}, got {path.name!r}")
    import SimpleITK as sitk

    affine = _check_affine(affine)
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"`array` must be (X, Y, Z) for {suffix}, got shape {array.shape}")
    lps = LPS_TO_RAS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    direction = lps[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise ValueError(f"`affine` must have orthogonal axes for {suffix} (no shear), got {affine.tolist()}")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    image = sitk.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing(spacing.tolist())
    image.SetDirection(direction.ravel().tolist())
    image.SetOrigin(lps[:3, 3].tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))
    return path
