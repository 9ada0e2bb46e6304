"""Write phantoms to NIfTI and fastMRI HDF5 (DICOM lives in :mod:`medpipe.synthetic.dicom`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from medpipe.synthetic.kspace import KSpacePhantom, ismrmrd_header

__all__ = ["check_affine", "write_fastmri_h5", "write_nifti"]


def check_affine(affine: np.ndarray) -> np.ndarray:
    """Validate a 4x4 RAS affine (finite, invertible, last row 0 0 0 1); return it as float64."""
    matrix = np.asarray(affine, dtype=np.float64)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"`affine` must be a finite 4x4 matrix, got shape {matrix.shape}")
    if not np.allclose(matrix[3], [0, 0, 0, 1]) or abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
        raise ValueError(f"`affine` must be invertible with last row [0, 0, 0, 1], got\n{matrix}")
    return matrix


def write_nifti(path: str | os.PathLike, array: np.ndarray, affine: np.ndarray) -> Path:
    """Write a 3D or 4D array to NIfTI-1 with matching qform and sform (both code 1, scanner).

    Args:
        path: destination, usually ``*.nii.gz``; parent folders are created.
        array: (X, Y, Z) or (X, Y, Z, T) in the voxel order of ``affine``; bool is written as
            uint8, other dtypes as they are (float32 images, uint8 labels).
        affine: float64 (4, 4) RAS voxel-to-world matrix.

    Returns:
        The written path.
    """
    import nibabel as nib

    data = np.asarray(array)
    if data.ndim not in (3, 4):
        raise ValueError(f"`array` must be 3D (X, Y, Z) or 4D (X, Y, Z, T), got shape {data.shape}")
    if data.dtype == bool:
        data = data.astype(np.uint8)
    matrix = check_affine(affine)
    image = nib.Nifti1Image(data, matrix)
    image.set_qform(matrix, code=1)
    image.set_sform(matrix, code=1)
    image.header.set_xyzt_units("mm", "sec")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return path


def write_fastmri_h5(path: str | os.PathLike, phantom: KSpacePhantom) -> Path:
    """Write a k-space phantom in the fastMRI multi-coil HDF5 layout.

    Datasets: ``kspace`` complex64 (slices, coils, H, W), ``reconstruction_rss`` float32
    (slices, H, W), ``ismrmrd_header`` (XML bytes, :func:`~medpipe.synthetic.kspace.ismrmrd_header`).
    File attributes: ``acquisition`` ("AXT2", ...), ``max`` and ``norm`` (maximum and L2 norm of
    ``reconstruction_rss``, as in fastMRI), ``patient_id`` ("synthetic-<seed>"), ``noise_std``
    and ``seed``. The file itself is written by :func:`medpipe.io.kspace.write_fastmri_h5`.

    Args:
        path: destination ``.h5``.
        phantom: from :func:`~medpipe.synthetic.kspace.kspace_phantom`.

    Returns:
        The written path.
    """
    from medpipe.io.kspace import write_fastmri_h5 as write_h5

    if not isinstance(phantom, KSpacePhantom):
        raise TypeError(f"`phantom` must be a KSpacePhantom, got {type(phantom).__name__}")
    rss = phantom.reconstruction_rss
    attrs = {
        "acquisition": phantom.acquisition,
        "max": float(rss.max()),
        "norm": float(np.linalg.norm(rss)),
        "patient_id": f"synthetic-{phantom.seed}",
        "noise_std": float(phantom.noise_std),
        "seed": int(phantom.seed),
    }
    return write_h5(
        path,
        phantom.kspace,
        reconstruction_rss=rss,
        ismrmrd_header=ismrmrd_header(phantom),
        attrs=attrs,
    )
