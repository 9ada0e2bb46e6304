"""Tests for medpipe.io.dicom_scan.find_series: grouping, splitting, statuses, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from tests.io._dicom_factory import SAGITTAL, volume, write_series
from pydicom.uid import generate_uid

from medpipe.io import find_series, load_series

DICOMDIR_TESTS = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"


def _only(series_list, **expected):
    assert len(series_list) == 1, [(s.label, s.status, s.reason) for s in series_list]
    series = series_list[0]
    for key, value in expected.items():
        assert getattr(series, key) == value, (key, getattr(series, key), series.reason)
    return series


def test_regular_series_ok_with_affine(tmp_path):
    write_series(tmp_path, volume(), spacing=(0.75, 0.5), step=(0, 0, 2.0), origin=(-10, 20, 30))
    series = _only(find_series(tmp_path), status="ok", kind="3d", shape=(5, 6, 7))
    expected = np.array([[-0.5, 0, 0, 10], [0, -0.75, 0, -20], [0, 0, 2.0, 30], [0, 0, 0, 1]])
    np.testing.assert_allclose(series.affine, expected)
    assert series.reason == "" and len(series.files) == 7


def test_reversed_instance_order_sorted_by_position(tmp_path):
    data = volume()
    write_series(tmp_path, data, instance_order=range(7, 0, -1))
    series = _only(find_series(tmp_path), status="ok")
    np.testing.assert_array_equal(load_series(series).array, data)


def test_descending_positions_give_positive_step_after_sorting(tmp_path):
    data = volume()
    write_series(tmp_path, data, step=(0, 0, -2.0))
    loaded = load_series(_only(find_series(tmp_path), status="ok"))
    assert loaded.affine[2, 2] == pytest.approx(2.0)
    np.testing.assert_array_equal(loaded.array, data[:, :, ::-1])


@pytest.mark.parametrize(
    "positions, message",
    [
        ([(0, 0, z) for z in (0, 2, 4, 8, 10, 12, 14)], "missing slices: gap of 4.000 mm"),
        ([(0, 0, z) for z in (0, 2, 4, 4, 6, 8, 10)], "duplicate positions"),
        ([(0, 0, z) for z in (0, 2, 4, 6.4, 8, 10, 12)], "non-uniform spacing: max deviation 0.400 mm"),
    ],
)
def test_slice_problems_are_errors(tmp_path, positions, message):
    write_series(tmp_path, volume(), positions=positions)
    series = _only(find_series(tmp_path), status="error")
    assert message in series.reason
    with pytest.raises(ValueError, match="must have status 'ok'"):
        load_series(series)


def test_gantry_tilt_refused_with_angle(tmp_path):
    angle = np.radians(12.0)
    step = (0.0, 2.0 * np.sin(angle), 2.0 * np.cos(angle))  # sheared stack: normal stays (0, 0, 1)
    write_series(tmp_path, volume(), step=step, gantry_tilt=12.0)
    series = _only(find_series(tmp_path), status="error")
    assert "gantry tilt of 12.0 degrees" in series.reason


def test_4d_series_time_axis_last(tmp_path):
    data = volume((5, 6, 12))
    positions = [(0, 0, 2.0 * (k % 4)) for k in range(12)]  # 4 slices x 3 time points
    write_series(tmp_path, data, positions=positions, acquisition_numbers=[k // 4 + 1 for k in range(12)],
                 modality="MR")
    series = _only(find_series(tmp_path), status="ok", kind="4d", shape=(5, 6, 4, 3))
    loaded = load_series(series)
    np.testing.assert_array_equal(loaded.array, data.reshape(5, 6, 3, 4).transpose(0, 1, 3, 2))
    assert "4D: 3 volumes of 4 slices" in series.notes


def test_acquisitions_at_different_locations_are_split(tmp_path):
    positions = [(0, 0, 2.0 * k) for k in range(3)] + [(0, 0, 100 + 2.0 * k) for k in range(3)]
    write_series(tmp_path, volume((5, 6, 6)), positions=positions, acquisition_numbers=[1, 1, 1, 2, 2, 2])
    found = find_series(tmp_path)
    assert [(s.status, s.split, s.shape) for s in found] == [
        ("ok", "acquisition 1", (5, 6, 3)), ("ok", "acquisition 2", (5, 6, 3))]


def test_one_uid_split_by_orientation_and_echo(tmp_path):
    uid = generate_uid()
    write_series(tmp_path, volume((5, 6, 3)), series_uid=uid, prefix="ax")
    write_series(tmp_path, volume((5, 6, 3), seed=1), series_uid=uid, orientation=SAGITTAL, step=(2, 0, 0),
                 prefix="sag")
    found = find_series(tmp_path)
    assert sorted(s.split for s in found) == ["orientation LR normal", "orientation SI normal"]
    assert all(s.status == "ok" for s in found)
    other = tmp_path / "echo"
    uid = generate_uid()
    write_series(other, volume((5, 6, 3)), series_uid=uid, echo_times=[10] * 3, modality="MR", prefix="e1")
    write_series(other, volume((5, 6, 3)), series_uid=uid, echo_times=[20] * 3, modality="MR", prefix="e2")
    assert sorted(s.split for s in find_series(other)) == ["echo 10", "echo 20"]


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        (dict(image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")), "localizer"),
        (dict(description="3-plane Scout"), "localizer (SeriesDescription"),
        (dict(image_type=("DERIVED", "SECONDARY", "MPR")), "derived image"),
        (dict(modality="SC"), "secondary capture"),
    ],
)
def test_excluded_series(tmp_path, kwargs, reason):
    write_series(tmp_path, volume((5, 6, 2)), **kwargs)
    assert reason in _only(find_series(tmp_path), status="excluded").reason


def test_non_dicom_files_skipped(tmp_path):
    write_series(tmp_path, volume())
    (tmp_path / "README.txt").write_text("not dicom")
    (tmp_path / "empty.dcm").write_bytes(b"")
    _only(find_series(tmp_path), status="ok")


def test_missing_folder():
    with pytest.raises(FileNotFoundError, match="must be an existing folder"):
        find_series("/nonexistent/dicom")


# --- bad input never crashes a scan: the broken series is `error`, the other one still loads ----

def _two_series(tmp_path):
    good = volume(seed=3)
    write_series(tmp_path / "good", good, description="good")
    paths = write_series(tmp_path / "bad", volume(seed=4), description="bad")
    return good, paths


def _check_bad(tmp_path, good, message):
    found = {s.description if s.uid else "unreadable": s for s in find_series(tmp_path)}
    np.testing.assert_array_equal(load_series(found["good"]).array, good)
    bad = [s for name, s in found.items() if name != "good"]
    assert bad and all(s.status == "error" for s in bad)
    assert any(message in s.reason for s in bad), [s.reason for s in bad]


def test_truncated_file(tmp_path):
    good, paths = _two_series(tmp_path)
    data = paths[3].read_bytes()
    paths[3].write_bytes(data[: len(data) - 20])
    _check_bad(tmp_path, good, "slice003.dcm: truncated file: 20 bytes of pixel data missing")


def test_truncated_header(tmp_path):
    good, paths = _two_series(tmp_path)
    paths[2].write_bytes(paths[2].read_bytes()[:300])
    _check_bad(tmp_path, good, "unreadable file slice002.dcm")


def test_file_without_pixel_data(tmp_path):
    good, paths = _two_series(tmp_path)
    dataset = pydicom.dcmread(paths[1])
    del dataset.PixelData
    dataset.save_as(paths[1])
    _check_bad(tmp_path, good, "slice001.dcm: no pixel data")


def test_mixed_matrix_sizes(tmp_path):
    good = volume(seed=3)
    write_series(tmp_path / "good", good, description="good")
    uid = generate_uid()
    write_series(tmp_path / "bad", volume((5, 6, 3)), series_uid=uid, description="bad", prefix="a")
    write_series(tmp_path / "bad", volume((7, 6, 3)), series_uid=uid, description="bad", prefix="b",
                 origin=(-10, 20, 36))
    _check_bad(tmp_path, good, "mixed matrix sizes (rows x columns: count) {'6x5': 3, '6x7': 3}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_unreadable_file(tmp_path):
    good, paths = _two_series(tmp_path)
    paths[4].chmod(0)
    try:
        _check_bad(tmp_path, good, "unreadable file slice004.dcm: Permission denied")
    finally:
        paths[4].chmod(0o644)


def test_unreadable_file_as_root(tmp_path, monkeypatch):
    """The same path with a simulated EACCES, so that it runs as root too."""
    import builtins

    import medpipe.io.dicom_headers as headers_module

    good, paths = _two_series(tmp_path)

    def guarded_open(path, *args, **kwargs):
        if Path(path).name == "slice004.dcm" and "bad" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(headers_module, "open", guarded_open, raising=False)
    _check_bad(tmp_path, good, "unreadable file slice004.dcm: Permission denied")


def test_symlink_loops(tmp_path):
    good, paths = _two_series(tmp_path)
    (tmp_path / "good" / "loop").symlink_to(tmp_path)  # a folder loop is cut, files are not counted twice
    (tmp_path / "bad" / "self.dcm").symlink_to(tmp_path / "bad" / "self.dcm")  # a file loop is an error
    _check_bad(tmp_path, good, "unreadable file self.dcm")
    assert len([s for s in find_series(tmp_path) if s.description == "good"]) == 1


# --- pydicom's dicomdirtests: real studies ------------------------------------------------------

@pytest.mark.skipif(not DICOMDIR_TESTS.is_dir(), reason="pydicom's dicomdirtests not installed")
def test_pydicom_dicomdirtests_statuses():
    found = find_series(DICOMDIR_TESTS)
    assert [s.folder.name for s in found if s.status == "error"] == ["CT2"]  # DICOMDIR files are skipped
    by_folder: dict[str, list] = {}
    for series in found:
        by_folder.setdefault(series.folder.name if series.folder else "", []).append(series)
    # reversed instance order: sorted by position, loads
    ct5n = _only(by_folder["CT5N"], status="ok", shape=(16, 16, 5))
    loaded = load_series(ct5n)
    assert loaded.affine[2, 2] == pytest.approx(2.5, abs=1e-3)
    positions = [float(h.position[2]) for h in ct5n.headers]
    assert positions == sorted(positions)
    # missing slices
    assert "missing slices" in _only(by_folder["CT2"], status="error").reason
    # mixed orientations in one localizer series: split, each excluded
    ct2n = by_folder["CT2N"]
    assert [s.status for s in ct2n] == ["excluded"] * len(ct2n) and all("localizer" in s.reason for s in ct2n)
    # several series in one folder, all localizers
    mr1 = by_folder["MR1"]
    assert len(mr1) == 3 and len({s.uid for s in mr1}) == 3
    assert all(s.status == "excluded" and "localizer" in s.reason for s in mr1)
    mr2 = by_folder["MR2"]
    assert len({s.uid for s in mr2}) == 3 and all(s.status == "excluded" for s in mr2)
    # projections / radiographs are derived; the tiny file-set without pixels is not an image
    assert all(s.status == "excluded" for s in by_folder["MR700"] + by_folder["CR1"])
    assert "not an image" in _only(by_folder["SE000000"], status="excluded").reason


def test_headerless_implicit_file_is_read(tmp_path):
    """Files without the 128-byte preamble and file meta (old exports) still count."""
    data = volume((5, 6, 3))
    paths = write_series(tmp_path, data)
    for path in paths:
        dataset = pydicom.dcmread(path)
        del dataset.file_meta
        dataset.preamble = None
        pydicom.dcmwrite(path, dataset, implicit_vr=True, little_endian=True, enforce_file_format=False)
        assert path.read_bytes()[:2] == b"\x08\x00"
    series = _only(find_series(tmp_path), status="ok")
    np.testing.assert_array_equal(load_series(series).array, data)


def test_localizer_sharing_a_uid_with_the_volume(tmp_path):
    uid = generate_uid()
    write_series(tmp_path, volume(), series_uid=uid, prefix="axial")
    write_series(tmp_path, volume((5, 6, 2)), series_uid=uid, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
                 orientation=SAGITTAL, step=(2, 0, 0), prefix="scout")
    statuses = sorted((s.status, s.reason) for s in find_series(tmp_path))
    assert statuses == [("excluded", "localizer"), ("ok", "")]


def test_header_without_rows_makes_its_series_error(tmp_path):
    paths = write_series(tmp_path, volume())
    dataset = pydicom.dcmread(paths[-1])
    for keyword in ("Rows", "Columns", "PixelData"):
        delattr(dataset, keyword)
    dataset.save_as(paths[-1])
    series = _only(find_series(tmp_path), status="error")
    assert "slice006.dcm: no Rows/Columns in the header" in series.reason
