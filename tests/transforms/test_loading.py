"""Tests for medpipe.transforms.loading: LoadScan / LoadScand on every kind of source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from tests.io._dicom_factory import volume, write_series

from medpipe.io import find_series, write_nifti
from medpipe.io.kspace import write_cfl, write_fastmri_h5
from medpipe.transforms import LoadScan, LoadScand

AFFINE = np.array([[-0.5, 0, 0, 10], [0, -0.75, 0, -20], [0, 0, 2.0, 30], [0, 0, 0, 1]])


def test_dicom_folder_and_series(tmp_path):
    data = volume()
    write_series(tmp_path, data)
    out = LoadScand(keys="image")({"image": str(tmp_path), "other": 1})
    image = out["image"]
    assert isinstance(image, MetaTensor) and image.shape == (1, 5, 6, 7) and image.dtype == torch.float32
    np.testing.assert_allclose(image.affine.numpy(), AFFINE)
    np.testing.assert_array_equal(image[0].numpy(), data)
    assert out["other"] == 1 and image.meta["Modality"] == "CT" and "PatientName" not in image.meta
    (series,) = find_series(tmp_path)
    assert torch.equal(LoadScan()(series), image)


def test_nifti_file(tmp_path):
    data = volume().astype(np.float32)
    path = write_nifti(tmp_path / "t1.nii.gz", data, AFFINE)
    image = LoadScan()(path)
    assert image.shape == (1, 5, 6, 7)
    np.testing.assert_array_equal(image.affine.numpy(), AFFINE)
    assert image.meta["original_channel_dim"] == 0


def test_stack_modalities_as_channels(tmp_path):
    paths = []
    for index, name in enumerate(("t1", "t1ce", "t2", "flair")):
        paths.append(write_nifti(tmp_path / f"{name}.nii.gz", volume(seed=index).astype(np.float32), AFFINE))
    image = LoadScand(keys="image")({"image": [str(p) for p in paths]})["image"]
    assert image.shape == (4, 5, 6, 7)
    np.testing.assert_array_equal(image[2].numpy(), volume(seed=2))


def test_stack_refuses_mismatched_geometry(tmp_path):
    first = write_nifti(tmp_path / "a.nii.gz", volume().astype(np.float32), AFFINE)
    other = AFFINE.copy()
    other[2, 2] = 2.5
    second = write_nifti(tmp_path / "b.nii.gz", volume().astype(np.float32), other)
    with pytest.raises(ValueError, match=r"shape \(5, 6, 7\) spacing \[0.5, 0.75, 2.0\].*spacing \[0.5, 0.75, 2.5\]"):
        LoadScan()([first, second])
    third = write_nifti(tmp_path / "c.nii.gz", volume((5, 6, 8)).astype(np.float32), AFFINE)
    with pytest.raises(ValueError, match=r"shape \(5, 6, 7\).*shape \(5, 6, 8\)"):
        LoadScan()([first, third])
    with pytest.raises(ValueError, match="non-empty list"):
        LoadScan()([])


def test_4d_dicom_time_to_channels(tmp_path):
    data = volume((5, 6, 6))
    write_series(tmp_path, data, positions=[(0, 0, 2.0 * (k % 3)) for k in range(6)],
                 acquisition_numbers=[k // 3 + 1 for k in range(6)], modality="MR")
    image = LoadScan()(tmp_path)
    assert image.shape == (2, 5, 6, 3)
    np.testing.assert_array_equal(image[1].numpy(), data[:, :, 3:])


@pytest.mark.parametrize("kind", ["h5", "cfl"])
def test_kspace_files(tmp_path, kind):
    rng = np.random.default_rng(0)
    kspace = (rng.standard_normal((2, 3, 5, 7)) + 1j * rng.standard_normal((2, 3, 5, 7))).astype(np.complex64)
    if kind == "h5":
        path = write_fastmri_h5(tmp_path / "k.h5", kspace, mask=np.ones(7, np.float32))
    else:
        path = Path(str(write_cfl(tmp_path / "k", kspace)) + ".cfl")
    image = LoadScand(keys="kspace")({"kspace": path})["kspace"]
    assert image.dtype == torch.complex64 and image.shape == (2, 3, 5, 7)
    np.testing.assert_array_equal(image.numpy(), kspace)
    assert image.meta["kind"] == "kspace"
    if kind == "h5":
        np.testing.assert_array_equal(image.meta["mask"], np.ones(7))


def test_source_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="must be an existing"):
        LoadScan()(tmp_path / "missing.nii.gz")
    with pytest.raises(TypeError, match="must be a path, a DicomSeries"):
        LoadScan()(42)
    with pytest.raises(ValueError, match="one loadable DICOM series, got none"):
        LoadScan()(tmp_path)
    write_series(tmp_path / "a", volume(), description="T1 axial")
    write_series(tmp_path / "b", volume(seed=1), description="T2 axial")
    with pytest.raises(ValueError, match="exactly one loadable DICOM series, got 2.*series_description"):
        LoadScan()(tmp_path)
    image = LoadScan(series_description="^t2")(tmp_path)
    np.testing.assert_array_equal(image[0].numpy(), volume(seed=1))
    with pytest.raises(KeyError):
        LoadScand(keys="image")({"label": 1})


def test_real_brats_four_modalities(real_data):
    root = real_data / "nifti" / "brats_tcia_example"
    image = LoadScan()([root / f"{name}.nii.gz" for name in ("t1", "t1ce", "t2", "flair")])
    assert image.shape == (4, 240, 240, 155)


def test_real_bart_kspace(real_data):
    image = LoadScan()(real_data / "kspace" / "bart_pics_brain" / "ksp")
    assert image.shape == (1, 8, 180, 230)


def test_more_source_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="existing file"):
        LoadScan()(tmp_path / "missing.h5")
    kspace = np.ones((1, 2, 5, 7), np.complex64)
    first = write_fastmri_h5(tmp_path / "a.h5", kspace)
    second = write_fastmri_h5(tmp_path / "b.h5", kspace)
    with pytest.raises(ValueError, match="must not stack k-space"):
        LoadScan()([first, second])
    path = write_nifti(tmp_path / "flat.nii", np.zeros((5, 6), np.float32), AFFINE)
    with pytest.raises(ValueError, match="3D or 4D volume"):
        LoadScan()(path)
