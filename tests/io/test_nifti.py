"""Tests for medpipe.io.nifti: NIfTI codes and affines, NRRD/MHA LPS<->RAS."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from medpipe.io.nifti import read_image, read_nifti, write_image, write_nifti


def _affine():
    # rotation about z by 90 degrees, anisotropic spacing, exactly representable in float32
    return np.array([[0.0, -0.75, 0.0, 10.5], [1.25, 0.0, 0.0, -20.25], [0.0, 0.0, 2.5, 3.0], [0, 0, 0, 1]])


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("codes", [(1, 1), (0, 2), (2, 4)])
def test_nifti_round_trip_exact(tmp_path, suffix, codes):
    array = np.arange(5 * 6 * 7, dtype=np.int16).reshape(5, 6, 7)
    path = write_nifti(tmp_path / f"a{suffix}", array, _affine(), qform_code=codes[0], sform_code=codes[1])
    volume = read_nifti(path)
    np.testing.assert_array_equal(volume.affine, _affine())
    np.testing.assert_array_equal(volume.array, array)
    assert volume.array.dtype == np.int16
    assert (volume.qform_code, volume.sform_code) == codes
    header = nib.load(path).header
    assert int(header["qform_code"]) == codes[0] and int(header["sform_code"]) == codes[1]


def test_nifti_scaled_file_reads_float(tmp_path):
    image = nib.Nifti1Image(np.ones((5, 6, 7), np.int16), np.eye(4))
    image.header.set_slope_inter(2.0, 1.0)
    nib.save(image, tmp_path / "s.nii")
    volume = read_nifti(tmp_path / "s.nii")
    assert volume.array.dtype == np.float32 and float(volume.array[0, 0, 0]) == 3.0


def test_nifti_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="existing NIfTI"):
        read_nifti(tmp_path / "none.nii")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match=r"\.nii or \.nii\.gz"):
        read_nifti(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="finite 4x4"):
        write_nifti(tmp_path / "b.nii", np.zeros((2, 3, 4)), np.eye(3))
    with pytest.raises(ValueError, match="last row"):
        write_nifti(tmp_path / "b.nii", np.zeros((2, 3, 4)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="xform code"):
        write_nifti(tmp_path / "b.nii", np.zeros((2, 3, 4)), np.eye(4), sform_code=7)
    with pytest.raises(ValueError, match="must end in"):
        write_image(tmp_path / "b.png", np.zeros((2, 3, 4)), np.eye(4))
    with pytest.raises(ValueError, match="must end in"):
        read_image(tmp_path / "x.txt")


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_itk_formats_round_trip_and_match_nifti(tmp_path, suffix):
    array = np.random.default_rng(0).integers(0, 100, (5, 6, 7)).astype(np.int16)
    write_image(tmp_path / f"a{suffix}", array, _affine())
    volume = read_image(tmp_path / f"a{suffix}")
    np.testing.assert_allclose(volume.affine, _affine(), atol=1e-9)
    np.testing.assert_array_equal(volume.array, array)
    # SimpleITK's own view: LPS origin is RAS origin with x, y negated; size is (X, Y, Z)
    image = sitk.ReadImage(str(tmp_path / f"a{suffix}"))
    assert image.GetSize() == (5, 6, 7)
    np.testing.assert_allclose(image.GetOrigin(), [-10.5, 20.25, 3.0])
    # the same voxel has the same RAS position as in a NIfTI written by nibabel
    write_nifti(tmp_path / "a.nii", array, _affine())
    converted = sitk.ReadImage(str(tmp_path / "a.nii"))
    np.testing.assert_allclose(converted.GetOrigin(), image.GetOrigin(), atol=1e-5)
    np.testing.assert_allclose(converted.GetDirection(), image.GetDirection(), atol=1e-6)


def test_itk_shear_refused(tmp_path):
    sheared = np.eye(4)
    sheared[0, 1] = 0.5
    with pytest.raises(ValueError, match="orthogonal axes"):
        write_image(tmp_path / "s.mha", np.zeros((5, 6, 7)), sheared)


def test_real_brats_nifti(real_data):
    volume = read_nifti(real_data / "nifti" / "brats_tcia_example" / "t1.nii.gz")
    assert volume.array.shape == (240, 240, 155)
    np.testing.assert_allclose(np.abs(np.diag(volume.affine))[:3], 1.0)


def test_itk_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="existing image file"):
        read_image(tmp_path / "missing.nrrd")
    with pytest.raises(ValueError, match=r"must be \(X, Y, Z\) for \.mha"):
        write_image(tmp_path / "a.mha", np.zeros((5, 6)), np.eye(4))
