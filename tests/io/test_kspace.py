"""Tests for medpipe.io.kspace: fastMRI HDF5 and BART cfl round trips and errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from medpipe.io.kspace import as_complex64, read_cfl, read_cfl_raw, read_fastmri_h5, write_cfl, write_fastmri_h5


def _kspace(shape=(2, 3, 5, 7), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def test_fastmri_round_trip_bit_identical(tmp_path):
    kspace = _kspace()
    rss = np.abs(kspace).sum(1).astype(np.float32)
    mask = np.array([1, 0, 1, 1, 0, 0, 1], dtype=np.float32)
    path = write_fastmri_h5(
        tmp_path / "case.h5", kspace, mask=mask, reconstruction_rss=rss,
        ismrmrd_header="<ismrmrdHeader/>", attrs={"acquisition": "CORPD_FBK", "max": 1.5},
    )
    data = read_fastmri_h5(path)
    assert data["kspace"].dtype == np.complex64 and data["kspace"].shape == (2, 3, 5, 7)
    assert data["kspace"].tobytes() == kspace.tobytes()
    np.testing.assert_array_equal(data["mask"], mask)
    np.testing.assert_array_equal(data["reconstruction_rss"], rss)
    assert data["ismrmrd_header"] == b"<ismrmrdHeader/>"
    assert data["attrs"] == {"acquisition": "CORPD_FBK", "max": 1.5}
    assert [p.name for p in tmp_path.iterdir()] == ["case.h5"]  # no temporary left behind


def test_fastmri_single_coil_gets_coil_axis(tmp_path):
    write_fastmri_h5(tmp_path / "s.h5", _kspace((2, 5, 7)))
    assert read_fastmri_h5(tmp_path / "s.h5")["kspace"].shape == (2, 1, 5, 7)


def test_fastmri_missing_kspace_names_file(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as handle:
        handle["image"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"'kspace' dataset.*bad\.h5.*\['image'\]"):
        read_fastmri_h5(tmp_path / "bad.h5")


def test_fastmri_missing_file():
    with pytest.raises(FileNotFoundError, match="must be an existing"):
        read_fastmri_h5("/nonexistent/x.h5")


def test_trailing_two_refused_unless_requested(tmp_path):
    kspace = _kspace((1, 2, 5, 7))
    pairs = np.stack([kspace.real, kspace.imag], axis=-1)
    with h5py.File(tmp_path / "t2.h5", "w") as handle:
        handle["kspace"] = pairs
    with pytest.raises(TypeError, match="allow_trailing_two=True"):
        read_fastmri_h5(tmp_path / "t2.h5")
    data = read_fastmri_h5(tmp_path / "t2.h5", allow_trailing_two=True)
    np.testing.assert_array_equal(data["kspace"], kspace)


def test_real_data_without_trailing_two_rejected():
    with pytest.raises(TypeError, match="must be complex, got dtype float64"):
        as_complex64(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="trailing axis of size 2"):
        as_complex64(np.zeros((2, 3)), allow_trailing_two=True)


def test_nan_kspace_rejected(tmp_path):
    kspace = _kspace((1, 2, 5, 7))
    kspace[0, 1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="must be finite, got 1 NaN"):
        write_fastmri_h5(tmp_path / "n.h5", kspace)
    assert not list(tmp_path.iterdir())


def test_write_rank_error(tmp_path):
    with pytest.raises(ValueError, match=r"must be \(slices, coils, H, W\)"):
        write_fastmri_h5(tmp_path / "r.h5", _kspace((5, 7)))


@pytest.mark.parametrize("suffix", ["", ".cfl", ".hdr"])
def test_cfl_round_trip(tmp_path, suffix):
    kspace = _kspace((1, 3, 5, 7))
    base = write_cfl(tmp_path / "k", kspace)
    np.testing.assert_array_equal(read_cfl(str(base) + suffix), kspace)
    raw = read_cfl_raw(base)
    assert raw.shape[:4] == (1, 5, 7, 3)  # BART order: x, y, z, coils


def test_cfl_fortran_order_matches_numpy(tmp_path):
    values = np.arange(2 * 3 * 4, dtype=np.complex64)
    (tmp_path / "a.hdr").write_text("# Dimensions\n2 3 4 1 1\n")
    values.tofile(tmp_path / "a.cfl")
    raw = read_cfl_raw(tmp_path / "a")
    assert raw[1, 0, 0] == 1 and raw[0, 1, 0] == 2 and raw[0, 0, 1] == 6


def test_cfl_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        read_cfl(tmp_path / "none")
    (tmp_path / "b.hdr").write_text("# Dimensions\n2 3 1 1 1\n")
    np.zeros(5, np.complex64).tofile(tmp_path / "b.cfl")
    with pytest.raises(ValueError, match="prod\\(dims\\)=6"):
        read_cfl(tmp_path / "b")
    (tmp_path / "c.hdr").write_text("# Dimensions\n1 2 3 1 2\n")
    np.zeros(12, np.complex64).tofile(tmp_path / "c.cfl")
    with pytest.raises(ValueError, match="read_cfl_raw"):
        read_cfl(tmp_path / "c")
    (tmp_path / "d.hdr").write_text("# Command\nx\n")
    np.zeros(1, np.complex64).tofile(tmp_path / "d.cfl")
    with pytest.raises(ValueError, match="Dimensions"):
        read_cfl(tmp_path / "d")


def test_bart_brain_shape(real_data):
    kspace = read_cfl(real_data / "kspace" / "bart_pics_brain" / "ksp")
    assert kspace.shape == (1, 8, 180, 230) and kspace.dtype == np.complex64
    raw = read_cfl_raw(real_data / "kspace" / "bart_pics_brain" / "ksp.cfl")
    np.testing.assert_array_equal(kspace[0, 3], raw.reshape(raw.shape[:4], order="F")[0, :, :, 3])
    # about 12.7 % of samples are acquired
    assert 0.10 < np.mean(np.abs(kspace[0, 0]) > 0) < 0.15


def test_phantom_fastmri_file_reads_back_bit_identical(tmp_path):
    """Contract with medpipe.synthetic: the phantom's fastMRI file reads back bit for bit."""
    synthetic = pytest.importorskip("medpipe.synthetic")
    phantom = synthetic.kspace_phantom((24, 20), num_coils=3, num_slices=2, seed=5, noise_std=0.01)
    path = synthetic.write_fastmri_h5(tmp_path / "phantom.h5", phantom)
    data = read_fastmri_h5(path)
    assert data["kspace"].dtype == np.complex64 and data["kspace"].shape == (2, 3, 24, 20)
    assert data["kspace"].tobytes() == np.ascontiguousarray(phantom.kspace, np.complex64).tobytes()
    assert data["reconstruction_rss"].tobytes() == np.ascontiguousarray(phantom.reconstruction_rss).tobytes()
    assert data["ismrmrd_header"] and data["attrs"]["patient_id"] == "synthetic-5"


def test_write_cfl_layout_error(tmp_path):
    with pytest.raises(ValueError, match=r"\(slices, coils, H, W\) when medpipe_layout=True"):
        write_cfl(tmp_path / "x", _kspace((5, 7)))
    base = write_cfl(tmp_path / "y", _kspace((5, 7)), medpipe_layout=False)
    assert read_cfl_raw(base).shape[:2] == (5, 7)
