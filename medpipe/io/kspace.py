"""k-space files: fastMRI HDF5 and BART ``.cfl``/``.hdr``.

Every reader returns native ``complex64`` k-space with coils at axis 1,
``(slices, coils, H, W)``, the layout used everywhere in :mod:`medpipe.mri`.
A trailing dimension of size 2 (real, imaginary) is accepted only when the caller asks
for the conversion explicitly (``allow_trailing_two=True``), because a float array whose
last axis happens to be 2 is otherwise indistinguishable from real-valued data.

fastMRI layout (Zbontar et al., 2018, "fastMRI: An Open Dataset and Benchmarks for
Accelerated MRI"): dataset ``kspace`` complex64 ``(slices, coils, H, W)`` (multi-coil) or
``(slices, H, W)`` (single-coil), optional ``mask`` ``(W,)``, ``reconstruction_rss``
float32 ``(slices, H', W')``, ``ismrmrd_header`` (XML bytes) and file attributes such as
``acquisition``, ``max``, ``norm``, ``patient_id``.

BART layout (Uecker et al., BART toolbox): ``<name>.hdr`` holds the dimensions,
``<name>.cfl`` the raw complex64 samples in column-major (Fortran) order. BART's first
dimensions are ``(READ=x, PHS1=y, PHS2=z, COIL, MAPS, TE, ...)``. :func:`read_cfl` maps them
to medpipe's layout as ``(slices=z, coils, H=x, W=y)``: a BART 2D multi-coil file with dims
``1 x 180 x 230 x 8`` (x=1 singleton readout, y=180, z=230, 8 coils) therefore loads as
``(1, 8, 180, 230)``, i.e. the singleton leading axis becomes the slice axis and the two
in-plane axes follow in BART order. Precisely: the BART axes ``0..3`` are sent to
medpipe axes ``(0, 2, 3, 1)`` and any trailing BART axes of size 1 are dropped; when
``dims[0] > 1`` (a genuine 3D readout) the volume is ``(x, coils, y, z)``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_fastmri_h5", "write_fastmri_h5", "read_cfl", "write_cfl", "as_complex64"]


def as_complex64(
    array: np.ndarray, *, name: str = "kspace", allow_trailing_two: bool = False
) -> np.ndarray:
    """Return ``array`` as native complex64, refusing silent real-to-complex guesses.

    Args:
        array: complex array, or float ``(..., 2)`` when ``allow_trailing_two`` is True.
        name: what the array is, for error messages.
        allow_trailing_two: accept a real array whose last axis (size 2) holds (real, imag).

    Returns:
        complex64 array (the trailing 2 removed when converted).

    Raises:
        TypeError: real data without ``allow_trailing_two``.
        ValueError: NaN or infinite samples, or a trailing axis that is not 2.
    """
    array = np.asarray(array)
    if not np.iscomplexobj(array):
        if not allow_trailing_two:
            hint = (
                " (it has a trailing axis of size 2; pass allow_trailing_two=True to read it as"
                " real/imaginary pairs)"
                if array.ndim and array.shape[-1] == 2
                else ""
            )
            raise TypeError(f"`{name}` must be complex, got dtype {array.dtype} with shape {array.shape}{hint}")
        if array.ndim == 0 or array.shape[-1] != 2:
            raise ValueError(
                f"`{name}` must have a trailing axis of size 2 for real/imaginary pairs, got shape {array.shape}"
            )
        array = array[..., 0].astype(np.float32) + 1j * array[..., 1].astype(np.float32)
    array = np.ascontiguousarray(array, dtype=np.complex64)
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"`{name}` must be finite, got {bad} NaN/infinite samples of {array.size}")
    return array


def read_fastmri_h5(path: str | os.PathLike, *, allow_trailing_two: bool = False) -> dict[str, Any]:
    """Read a fastMRI HDF5 file.

    Args:
        path: the ``.h5`` file.
        allow_trailing_two: accept a float ``kspace`` with a trailing (real, imag) axis.

    Returns:
        dict with ``kspace`` complex64 ``(slices, coils, H, W)`` (single-coil files get a
        coil axis of size 1), ``mask`` (numpy array or None), ``reconstruction_rss``
        (float32 ``(slices, H', W')`` or None), ``ismrmrd_header`` (bytes or None) and
        ``attrs`` (dict of the file attributes).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: no ``kspace`` dataset, wrong rank, or NaN samples.
        TypeError: ``kspace`` is not complex.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` must be an existing fastMRI .h5 file, got {str(path)!r}")
    with h5py.File(path, "r") as handle:
        if "kspace" not in handle:
            raise ValueError(
                f"`path` must hold a 'kspace' dataset, got {str(path)!r} with datasets {sorted(handle.keys())}"
            )
        kspace = as_complex64(handle["kspace"][()], name=f"kspace in {path.name}", allow_trailing_two=allow_trailing_two)
        mask = handle["mask"][()] if "mask" in handle else None
        rss = handle["reconstruction_rss"][()].astype(np.float32) if "reconstruction_rss" in handle else None
        header = None
        if "ismrmrd_header" in handle:
            raw = handle["ismrmrd_header"][()]
            header = raw.tobytes() if isinstance(raw, np.ndarray) else bytes(raw)
        attrs = {key: _plain(value) for key, value in handle.attrs.items()}
    if kspace.ndim == 3:
        kspace = kspace[:, None]
    if kspace.ndim != 4:
        raise ValueError(
            f"`kspace` in {path.name} must be (slices, coils, H, W) or (slices, H, W), got shape {kspace.shape}"
        )
    return {"kspace": kspace, "mask": mask, "reconstruction_rss": rss, "ismrmrd_header": header, "attrs": attrs}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_fastmri_h5(
    path: str | os.PathLike,
    kspace: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    reconstruction_rss: np.ndarray | None = None,
    ismrmrd_header: bytes | str | None = None,
    attrs: dict[str, Any] | None = None,
) -> Path:
    """Write a fastMRI HDF5 file atomically (temporary file in the same folder, then rename).

    Args:
        path: destination ``.h5``.
        kspace: complex64 ``(slices, coils, H, W)`` (or ``(slices, H, W)`` single-coil).
        mask: optional sampling mask, e.g. ``(W,)``.
        reconstruction_rss: optional float32 ``(slices, H, W)``.
        ismrmrd_header: optional ISMRMRD XML.
        attrs: optional file attributes (scalars or strings).

    Returns:
        the written path.

    Raises:
        TypeError: ``kspace`` is not complex.
        ValueError: NaN samples or a rank other than 3 or 4.
    """
    import h5py

    kspace = as_complex64(kspace)
    if kspace.ndim not in (3, 4):
        raise ValueError(f"`kspace` must be (slices, coils, H, W) or (slices, H, W), got shape {kspace.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle_fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle_fd)
    try:
        with h5py.File(tmp_name, "w") as handle:
            handle.create_dataset("kspace", data=kspace)
            if mask is not None:
                handle.create_dataset("mask", data=np.asarray(mask))
            if reconstruction_rss is not None:
                handle.create_dataset("reconstruction_rss", data=np.asarray(reconstruction_rss, dtype=np.float32))
            if ismrmrd_header is not None:
                raw = ismrmrd_header.encode("utf-8") if isinstance(ismrmrd_header, str) else bytes(ismrmrd_header)
                handle.create_dataset("ismrmrd_header", data=np.bytes_(raw))
            for key, value in (attrs or {}).items():
                handle.attrs[key] = value
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
        raise
    return path


def _cfl_base(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix in (".cfl", ".hdr"):
        path = path.with_suffix("")
    return path


def read_cfl_raw(path: str | os.PathLike) -> np.ndarray:
    """Read a BART array in BART's own axis order (Fortran order, complex64).

    Args:
        path: base path, or the ``.cfl`` / ``.hdr`` file.

    Returns:
        complex64 array with the dimensions from the ``.hdr`` (trailing size-1 axes kept).

    Raises:
        FileNotFoundError: the ``.hdr`` or ``.cfl`` is missing.
        ValueError: the header has no dimensions or the data size does not match them.
    """
    base = _cfl_base(path)
    header, data = base.with_suffix(".hdr"), base.with_suffix(".cfl")
    for required in (header, data):
        if not required.is_file():
            raise FileNotFoundError(f"`path` must name a BART .hdr/.cfl pair, missing {str(required)!r}")
    lines = header.read_text().splitlines()
    dims = None
    for index, line in enumerate(lines):
        if line.strip().startswith("# Dimensions") and index + 1 < len(lines):
            dims = [int(token) for token in lines[index + 1].split()]
            break
    if not dims:
        raise ValueError(f"`path` must have a '# Dimensions' line in {str(header)!r}, got none")
    samples = np.fromfile(data, dtype=np.complex64)
    expected = int(np.prod(dims))
    if samples.size != expected:
        raise ValueError(
            f"`path` data must hold prod(dims)={expected} complex64 samples for dims {dims}, "
            f"got {samples.size} in {str(data)!r}"
        )
    return samples.reshape(dims, order="F")


def read_cfl(path: str | os.PathLike) -> np.ndarray:
    """Read BART k-space as complex64 ``(slices, coils, H, W)``.

    The BART axes ``(x, y, z, coils)`` become ``(x, coils, y, z)`` (see the module docstring):
    BART dims ``1 x 180 x 230 x 8`` load as ``(1, 8, 180, 230)``.

    Args:
        path: base path, or the ``.cfl`` / ``.hdr`` file.

    Returns:
        complex64 ``(slices, coils, H, W)``.

    Raises:
        ValueError: a BART axis beyond the fourth (maps, echoes, ...) has size > 1, or NaN data.
    """
    raw = read_cfl_raw(path)
    dims = list(raw.shape) + [1] * max(0, 4 - raw.ndim)
    if any(size != 1 for size in dims[4:]):
        raise ValueError(
            f"`path` must hold at most (x, y, z, coils) non-singleton BART axes, got dims {dims} "
            f"in {str(_cfl_base(path))!r}; use read_cfl_raw for multi-map or multi-echo arrays"
        )
    volume = raw.reshape(dims[:4], order="F")
    return as_complex64(np.transpose(volume, (0, 3, 1, 2)), name=f"BART data {_cfl_base(path).name}")


def write_cfl(path: str | os.PathLike, array: np.ndarray, *, medpipe_layout: bool = True) -> Path:
    """Write a BART ``.hdr``/``.cfl`` pair.

    Args:
        path: base path (``.cfl``/``.hdr`` suffix optional).
        array: complex ``(slices, coils, H, W)`` when ``medpipe_layout`` (the inverse of
            :func:`read_cfl`), otherwise any complex array already in BART axis order.
        medpipe_layout: whether ``array`` is in medpipe's layout.

    Returns:
        the base path written.
    """
    array = as_complex64(array, name="array")
    if medpipe_layout:
        if array.ndim != 4:
            raise ValueError(f"`array` must be (slices, coils, H, W) when medpipe_layout=True, got shape {array.shape}")
        array = np.transpose(array, (0, 2, 3, 1))
    base = _cfl_base(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    dims = list(array.shape) + [1] * max(0, 16 - array.ndim)
    base.with_suffix(".hdr").write_text("# Dimensions\n" + " ".join(str(size) for size in dims) + "\n")
    np.asfortranarray(array).ravel(order="F").astype(np.complex64).tofile(base.with_suffix(".cfl"))
    return base
