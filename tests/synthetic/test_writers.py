"""write_nifti and write_fastmri_h5: layout, dtypes, geometry, errors."""

from __future__ import annotations

import h5py
import nibabel as nib
import numpy as np
import pytest

from medpipe.synthetic.kspace import kspace_phantom
from medpipe.synthetic.writers import write_fastmri_h5, write_nifti


def test_write_nifti_round_trip(tmp_path):
    array = np.random.default_rng(0).standard_normal((5, 6, 7)).astype(np.float32)
    affine = np.array([[0, -1.5, 0, 10], [2.0, 0, 0, -3], [0, 0, 2.5, 7], [0, 0, 0, 1]])
    path = write_nifti(tmp_path / "sub" / "x.nii.gz", array, affine)
    image = nib.load(path)
    np.testing.assert_array_equal(image.get_fdata(dtype=np.float32), array)
    np.testing.assert_allclose(image.affine, affine)
    assert int(image.header["qform_code"]) == 1 and int(image.header["sform_code"]) == 1
    np.testing.assert_allclose(image.get_qform(), affine, atol=1e-5)


def test_write_nifti_bool_as_uint8(tmp_path):
    mask = np.zeros((5, 6, 7), dtype=bool)
    mask[1:3] = True
    image = nib.load(write_nifti(tmp_path / "m.nii.gz", mask, np.eye(4)))
    assert image.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(image.dataobj), mask)


def test_write_nifti_errors(tmp_path):
    with pytest.raises(ValueError, match="array"):
        write_nifti(tmp_path / "a.nii.gz", np.zeros((5, 6)), np.eye(4))
    with pytest.raises(ValueError, match="affine"):
        write_nifti(tmp_path / "a.nii.gz", np.zeros((5, 6, 7)), np.eye(3))
    with pytest.raises(ValueError, match="invertible"):
        write_nifti(tmp_path / "a.nii.gz", np.zeros((5, 6, 7)), np.diag([1.0, 0.0, 1.0, 1.0]))


def test_write_fastmri_h5_layout(tmp_path):
    phantom = kspace_phantom((24, 20), 3, num_slices=2, seed=4, noise_std=0.01)
    path = write_fastmri_h5(tmp_path / "case.h5", phantom)
    with h5py.File(path, "r") as handle:
        assert handle["kspace"].dtype == np.complex64 and handle["kspace"].shape == (2, 3, 24, 20)
        assert handle["reconstruction_rss"].dtype == np.float32
        assert handle["reconstruction_rss"].shape == (2, 24, 20)
        np.testing.assert_array_equal(handle["kspace"][()], phantom.kspace)
        assert b"<ismrmrdHeader" in bytes(handle["ismrmrd_header"][()])
        attrs = dict(handle.attrs)
    assert attrs["patient_id"] == "synthetic-4"
    assert attrs["acquisition"] == "AXT2"
    assert attrs["max"] == pytest.approx(float(phantom.reconstruction_rss.max()))
    assert attrs["norm"] == pytest.approx(float(np.linalg.norm(phantom.reconstruction_rss)), rel=1e-6)


def test_write_fastmri_h5_type_error(tmp_path):
    with pytest.raises(TypeError, match="phantom"):
        write_fastmri_h5(tmp_path / "x.h5", np.zeros((1, 2, 3, 4), dtype=np.complex64))


def test_files_are_byte_deterministic(tmp_path):
    array = np.arange(210, dtype=np.float32).reshape(5, 6, 7)
    first = write_nifti(tmp_path / "a.nii.gz", array, np.eye(4)).read_bytes()
    second = write_nifti(tmp_path / "b.nii.gz", array, np.eye(4)).read_bytes()
    assert first == second  # gzip header without time stamp or file name
    phantom = kspace_phantom((16, 12), 2, seed=1)
    assert write_fastmri_h5(tmp_path / "a.h5", phantom).read_bytes() == write_fastmri_h5(tmp_path / "b.h5", phantom).read_bytes()


def test_fastmri_h5_reads_back_through_medpipe_io(tmp_path):
    from medpipe.io.kspace import read_fastmri_h5

    phantom = kspace_phantom((24, 20), 3, num_slices=2, seed=4, noise_std=0.01)
    loaded = read_fastmri_h5(write_fastmri_h5(tmp_path / "case.h5", phantom))
    np.testing.assert_array_equal(loaded["kspace"], phantom.kspace)
    np.testing.assert_array_equal(loaded["reconstruction_rss"], phantom.reconstruction_rss)
    assert loaded["attrs"]["patient_id"] == "synthetic-4" and loaded["mask"] is None
    assert loaded["ismrmrd_header"].startswith(b"<?xml")
