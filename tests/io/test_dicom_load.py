"""Tests for medpipe.io.dicom_load.load_series, and agreement with dcm2niix on real scanner data."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from tests.io._dicom_factory import volume, write_enhanced, write_series
from pydicom.uid import RLELossless

from medpipe.io import find_series, load_series
from medpipe.io.dicom_load import PHI_KEYWORDS


def _one(folder):
    found = [s for s in find_series(folder) if s.status == "ok"]
    assert len(found) == 1, [(s.label, s.status, s.reason) for s in find_series(folder)]
    return found[0]


def test_rescale_float(tmp_path):
    data = volume()
    write_series(tmp_path, data, slope=0.5, intercept=-3.25, modality="MR")
    loaded = load_series(_one(tmp_path))
    assert loaded.array.dtype == np.float32
    np.testing.assert_allclose(loaded.array, data * 0.5 - 3.25)


def test_rescale_integer_intercept_stays_integer(tmp_path):
    data = volume().astype(np.uint16) + 1000  # CT-like unsigned storage
    write_series(tmp_path, data.astype(np.int32).astype(np.uint16), slope=1, intercept=-1024)
    loaded = load_series(_one(tmp_path))
    assert loaded.array.dtype == np.int16
    np.testing.assert_array_equal(loaded.array, data.astype(np.int32) - 1024)


def test_compressed_series_decodes(tmp_path):
    data = volume()
    write_series(tmp_path, data, compress=RLELossless)
    series = _one(tmp_path)
    assert series.headers[0].pixel_offset is None  # decoded by pydicom, not the raw fast path
    np.testing.assert_array_equal(load_series(series).array, data)


def test_metadata_without_phi_unless_asked(tmp_path):
    write_series(tmp_path, volume())
    series = _one(tmp_path)
    metadata = load_series(series).metadata
    assert not set(PHI_KEYWORDS) & set(metadata)
    assert metadata["Modality"] == "CT" and metadata["shape"] == [5, 6, 7]
    assert metadata["voxel_spacing"] == [0.5, 0.75, 2.0]
    json.dumps(metadata)
    kept = load_series(series, keep_phi=True).metadata
    assert kept["PatientName"] == "Test^Patient" and kept["PatientID"] == "PID-0001"


def test_load_errors(tmp_path):
    with pytest.raises(TypeError, match="must be a DicomSeries"):
        load_series(str(tmp_path))
    write_series(tmp_path, volume((5, 6, 2)), image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    (series,) = find_series(tmp_path)
    with pytest.raises(ValueError, match="status 'ok' to load, got 'excluded'.*localizer"):
        load_series(series)


def test_enhanced_multiframe_split_per_stack(tmp_path):
    first, second = volume((5, 6, 4), seed=1), volume((5, 6, 3), seed=2)
    write_enhanced(tmp_path / "enhanced.dcm", [first, second], slope=2.0, intercept=1.0)
    found = sorted(find_series(tmp_path), key=lambda s: s.split)
    assert [(s.status, s.kind, s.split, s.shape) for s in found] == [
        ("ok", "enhanced-3d", "stack 1", (5, 6, 4)), ("ok", "enhanced-3d", "stack 2", (5, 6, 3))]
    for series, expected, z0 in zip(found, (first, second), (30.0, 130.0)):
        loaded = load_series(series)
        np.testing.assert_allclose(loaded.array, expected * 2.0 + 1.0)
        np.testing.assert_allclose(loaded.affine[:3, 3], [10.0, -20.0, z0])


# --- real scanner data against dcm2niix ---------------------------------------------------------

def _canonical(array, affine):
    image = nib.as_closest_canonical(nib.Nifti1Image(array, affine))
    return np.asanyarray(image.dataobj), image.affine


def _reference_index(ref_folder: Path) -> dict:
    index = {}
    for sidecar in ref_folder.glob("*.json"):
        info = json.loads(sidecar.read_text())
        index[(info["Manufacturer"].split()[0].lower(), str(info["SeriesNumber"]))] = sidecar.with_suffix(".nii")
    return index


def _assert_agrees(series, reference: Path):
    loaded = load_series(series)
    ours, our_affine = _canonical(loaded.array, loaded.affine)
    image = nib.as_closest_canonical(nib.load(reference))
    theirs = image.get_fdata()
    assert ours.shape == theirs.shape, (series.label, reference.name)
    np.testing.assert_allclose(our_affine, image.affine, atol=1e-3)
    np.testing.assert_array_equal(ours, theirs)


def _agreement(folder: Path, ref_folder: Path, expected_count: int):
    index = _reference_index(ref_folder)
    found = find_series(folder)
    assert all(s.status == "ok" for s in found), [(s.label, s.reason) for s in found]
    assert len(found) == expected_count
    matched = set()
    for series in found:
        key = (load_series(series).metadata["Manufacturer"].split()[0].lower(), series.series_number)
        assert key in index, f"no dcm2niix reference for {series.label}"
        _assert_agrees(series, index[key])
        matched.add(key)
    return matched


def test_transfer_syntaxes_match_dcm2niix(real_data):
    """One Siemens mosaic in 9 transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE, big endian, ...)."""
    root = real_data / "dicom" / "dcm_qa_ts"
    matched = _agreement(root / "In", root / "Ref", 9)
    assert len(matched) == len(_reference_index(root / "Ref")) == 9


def test_siemens_4d_mosaic_and_one_ge_epi_match_dcm2niix(real_data):
    root = real_data / "dicom" / "dcm_qa_nih"
    _agreement(root / "In" / "20180918Si", root / "Ref", 4)
    _agreement(root / "In" / "20180918GE" / "mr_0004", root / "Ref", 1)


def test_gantry_tilted_ge_ct_refused_with_angle(real_data):
    (series,) = find_series(real_data / "dicom" / "dcm_qa_ct" / "In" / "GE")
    assert series.status == "error" and "gantry tilt of 18.5 degrees" in series.reason
    assert len(series.files) == 28


def test_every_shared_series_matches_dcm2niix(real_data, tmp_path):
    """The whole shared DICOM folder: the same set of series as dcm2niix, and the same voxels."""
    root = real_data / "dicom"
    nih = _agreement(root / "dcm_qa_nih" / "In", root / "dcm_qa_nih" / "Ref", 8)
    assert nih == set(_reference_index(root / "dcm_qa_nih" / "Ref"))
    _agreement(root / "dcm_qa_ts" / "In", root / "dcm_qa_ts" / "Ref", 9)
    binary = shutil.which("dcm2niix")
    if binary is None:
        pytest.skip("dcm2niix not on PATH")
    subprocess.run([binary, "-i", "y", "-p", "n", "-o", str(tmp_path), str(root / "dcm_qa_ct" / "In")],
                   check=True, capture_output=True)
    plain = [path for path in tmp_path.glob("*.nii") if "_Tilt" not in path.name and "_Eq" not in path.name]
    found = find_series(root / "dcm_qa_ct" / "In")
    assert len(found) == len(plain) == 1  # same set of series; ours refuses the tilted one
    assert "18.5" in found[0].reason


def test_reads_medpipe_synthetic_dicom_exactly(tmp_path):
    """Contract with medpipe.synthetic.write_dicom_series: an oblique RAS affine and HU values
    written there come back unchanged."""
    synthetic = pytest.importorskip("medpipe.synthetic")
    rng = np.random.default_rng(0)
    hounsfield = rng.integers(-1000, 2000, (5, 6, 7)).astype(np.float32)
    cos, sin = np.cos(0.3), np.sin(0.3)
    affine = np.array([[0.8 * cos, -0.9 * sin, 0, 10], [0.8 * sin, 0.9 * cos, 0, -20], [0, 0, 2.5, 30], [0, 0, 0, 1]])
    synthetic.write_dicom_series(tmp_path, hounsfield, affine, modality="CT")
    loaded = load_series(_one(tmp_path))
    np.testing.assert_array_equal(loaded.array, hounsfield)
    np.testing.assert_allclose(loaded.affine, affine, atol=1e-6)


def test_real_philips_enhanced_mprage_matches_dcm2niix(tmp_path):
    """nibabel's Philips enhanced multi-frame MPRAGE (pixel values blanked in that test file):
    the frame geometry must give dcm2niix's affine and shape."""
    import gzip

    nibabel_data = Path(nib.__file__).parent / "nicom" / "tests" / "data" / "philips_mprage.dcm.gz"
    binary = shutil.which("dcm2niix")
    if not nibabel_data.is_file() or binary is None:
        pytest.skip("nibabel test data or dcm2niix not available")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mprage.dcm").write_bytes(gzip.decompress(nibabel_data.read_bytes()))
    series = _one(tmp_path / "in")
    assert series.kind == "enhanced-3d" and series.shape == (256, 256, 176)
    subprocess.run([binary, "-i", "y", "-p", "n", "-o", str(tmp_path), str(tmp_path / "in")],
                   check=True, capture_output=True)
    (reference,) = tmp_path.glob("*.nii")
    _assert_agrees(series, reference)


def test_decode_failure_names_file(tmp_path):
    paths = write_series(tmp_path, volume(), compress=RLELossless)
    (series,) = find_series(tmp_path)
    data = bytearray(paths[2].read_bytes())
    data[-40:] = b"\xff" * 40  # corrupt the RLE segment
    paths[2].write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"slice002\.dcm.*must decode"):
        load_series(series)


def test_direct_jpeg2000_decode_equals_pydicom(real_data):
    """The OpenJPEG shortcut gives exactly pydicom's pixels for the JPEG 2000 file."""
    import pydicom

    from medpipe.io.dicom_load import _decode_jpeg2000

    path = real_data / "dicom" / "dcm_qa_ts" / "In" / "9.dcm"
    (series,) = find_series(path)
    header = series.headers[0]
    assert header.encapsulated_offset is not None
    direct = _decode_jpeg2000(header)
    reference = pydicom.dcmread(path).pixel_array
    assert direct is not None and direct.dtype == reference.dtype
    np.testing.assert_array_equal(direct, reference)
