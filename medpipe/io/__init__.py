"""Reading and writing scans: DICOM series, NIfTI/NRRD/MHA, DICOM-SEG and k-space files.

Names are imported lazily so that ``import medpipe.io`` stays cheap and a missing optional
module never breaks the others.
"""

from __future__ import annotations

from medpipe._lazy import lazy_exports

_LOCATIONS = {
    "DicomSeries": "medpipe.io.dicom",
    "LoadedSeries": "medpipe.io.dicom",
    "find_series": "medpipe.io.dicom",
    "load_series": "medpipe.io.dicom",
    "series_metadata": "medpipe.io.dicom",
    "Volume": "medpipe.io.nifti",
    "read_nifti": "medpipe.io.nifti",
    "write_nifti": "medpipe.io.nifti",
    "read_image": "medpipe.io.nifti",
    "write_image": "medpipe.io.nifti",
    "write_dicom_seg": "medpipe.io.dicom_seg",
    "read_dicom_seg": "medpipe.io.dicom_seg",
    "read_fastmri_h5": "medpipe.io.kspace",
    "write_fastmri_h5": "medpipe.io.kspace",
    "read_cfl": "medpipe.io.kspace",
    "write_cfl": "medpipe.io.kspace",
}

__all__ = sorted(_LOCATIONS)
__getattr__, __dir__ = lazy_exports(__name__, _LOCATIONS)
