"""DICOM series: find them in a folder tree (headers only), check them, load them.

This module is the public face of three smaller ones:

* :mod:`medpipe.io.dicom_headers`: one header summary per 2D image (classic, mosaic, frames);
* :mod:`medpipe.io.dicom_scan`: :func:`find_series` (grouping, splitting, statuses);
* :mod:`medpipe.io.dicom_load`: :func:`load_series` (pixels, rescale, mosaic, 4D);
* :mod:`medpipe.io.dicom_geometry`: sorting along the normal, spacing checks, RAS affine.

Example:
    >>> for series in find_series("incoming/"):
    ...     print(series.label, series.status, series.reason)
    ...     if series.status == "ok":
    ...         loaded = load_series(series)   # loaded.array (X, Y, Z[, T]), loaded.affine (4, 4) RAS
"""

from __future__ import annotations

from medpipe.io.dicom_load import LoadedSeries, load_series, series_metadata
from medpipe.io.dicom_scan import STATUSES, DicomSeries, find_series

__all__ = ["DicomSeries", "LoadedSeries", "find_series", "load_series", "series_metadata", "STATUSES"]
