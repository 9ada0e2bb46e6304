"""write_dicom_series: round trip through pydicom and SimpleITK, geometry, tags, determinism."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from medpipe.synthetic.dicom import write_dicom_series

FLIP = np.diag([-1.0, -1.0, 1.0])


def _oblique_affine(spacing, seed, *, negative=False):
    rotation = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))[0]
    rotation *= np.sign(np.linalg.det(rotation)) * (-1 if negative else 1)
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag(spacing)
    affine[:3, 3] = [12.5, -30.0, 41.0]
    return affine


CASES = {
    "ct_axial": ("CT", np.diag([0.7, 0.9, 2.5, 1.0]) + np.array([[0, 0, 0, -5], [0, 0, 0, 8], [0, 0, 0, -20], [0, 0, 0, 0]])),
    "mr_oblique_left_handed": ("MR", _oblique_affine((1.1, 0.8, 3.0), 1, negative=True)),
    "ct_oblique": ("CT", _oblique_affine((0.6, 1.3, 2.0), 2)),
}


def _volume(modality, shape=(5, 6, 7)):
    rng = np.random.default_rng(11)
    if modality == "CT":
        return rng.uniform(-1000, 1500, size=shape).astype(np.float32)
    return rng.uniform(0.0, 1.4, size=shape).astype(np.float32)


def _expected(volume, path):
    ds = pydicom.dcmread(path)
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    return np.rint((volume.astype(np.float64) - intercept) / slope) * slope + intercept


def _match_slice_order(array, affine, reference_affine):
    """Readers sort slices by position; undo a reversed slice axis before comparing."""
    if np.dot(affine[:3, 2], reference_affine[:3, 2]) < 0:
        flipped = affine.copy()
        flipped[:3, 3] = affine[:3, :3] @ [0, 0, array.shape[2] - 1] + affine[:3, 3]
        flipped[:3, 2] *= -1
        return array[:, :, ::-1], flipped
    return array, affine


def _read_pydicom(paths):
    datasets = [pydicom.dcmread(p) for p in paths]
    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(orientation[:3], orientation[3:])
    datasets.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=np.float64), normal)))
    slices = [d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in datasets]
    array = np.stack(slices, axis=-1).transpose(1, 0, 2)  # (rows, cols, k) -> (X=cols, Y=rows, k)
    row_spacing, col_spacing = (float(v) for v in datasets[0].PixelSpacing)
    first = np.array(datasets[0].ImagePositionPatient, dtype=np.float64)
    last = np.array(datasets[-1].ImagePositionPatient, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = FLIP @ orientation[:3] * col_spacing
    affine[:3, 1] = FLIP @ orientation[3:] * row_spacing
    affine[:3, 2] = FLIP @ (last - first) / (len(datasets) - 1)
    affine[:3, 3] = FLIP @ first
    return array, affine


def _read_simpleitk(folder):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    array = sitk.GetArrayFromImage(image).transpose(2, 1, 0).astype(np.float64)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = FLIP @ direction @ np.diag(image.GetSpacing())
    affine[:3, 3] = FLIP @ np.array(image.GetOrigin())
    return array, affine


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_pydicom_and_simpleitk(tmp_path, case):
    modality, affine = CASES[case]
    volume = _volume(modality)
    paths = write_dicom_series(tmp_path, volume, affine, modality=modality, series_description=case)
    assert [p.name for p in paths] == [f"{k:04d}.dcm" for k in range(1, 8)]
    expected = _expected(volume, paths[0])
    for array, read_affine in (_read_pydicom(paths), _read_simpleitk(tmp_path)):
        array, read_affine = _match_slice_order(array, read_affine, affine)
        assert array.shape == volume.shape
        np.testing.assert_allclose(array, expected, rtol=0, atol=1e-6 * max(1.0, np.abs(expected).max()))
        np.testing.assert_allclose(read_affine, affine, atol=1e-4)


def _to_reference_grid(array, affine, reference_affine):
    """Resample a reader's output onto the written grid when they differ by axis flips/permutations."""
    index_map = np.linalg.inv(affine) @ reference_affine  # written voxel index -> reader voxel index
    rounded = np.rint(index_map)
    np.testing.assert_allclose(affine @ rounded, reference_affine, atol=1e-4)
    shape = tuple(int(n) for n in np.abs(rounded[:3, :3]).T @ np.array(array.shape))  # written shape
    written = np.indices(shape).reshape(3, -1)
    source = (rounded[:3, :3] @ written + rounded[:3, 3:4]).astype(int)
    return array[tuple(source)].reshape(shape)


@pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix not on PATH")
@pytest.mark.parametrize("case", sorted(CASES))
def test_dcm2niix_reads_the_same_volume(tmp_path, case):
    modality, affine = CASES[case]
    volume = _volume(modality)
    paths = write_dicom_series(tmp_path / "dicom", volume, affine, modality=modality)
    (tmp_path / "nifti").mkdir()
    subprocess.run(
        ["dcm2niix", "-z", "n", "-f", "converted", "-o", str(tmp_path / "nifti"), str(tmp_path / "dicom")],
        check=True, capture_output=True,
    )
    image = nib.load(tmp_path / "nifti" / "converted.nii")
    array = _to_reference_grid(image.get_fdata(), image.affine, affine)
    expected = _expected(volume, paths[0])
    np.testing.assert_allclose(array, expected, rtol=0, atol=1e-5 * max(1.0, np.abs(expected).max()))


def test_ct_stores_rounded_hounsfield_units(tmp_path):
    volume = np.array([-1000.4, -0.6, 39.5, 700.2, 2999.0, -2000.0], dtype=np.float32).reshape(1, 2, 3)
    volume = np.repeat(volume, 5, axis=0)
    paths = write_dicom_series(tmp_path, volume, np.eye(4), modality="CT")
    ds = pydicom.dcmread(paths[0])
    assert ds.PixelRepresentation == 1 and float(ds.RescaleIntercept) == -1024 and ds.RescaleType == "HU"
    hounsfield = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(hounsfield.T, np.rint(volume[:, :, 0]))


def test_tags_uids_and_determinism(tmp_path):
    volume = _volume("MR")
    first = write_dicom_series(tmp_path / "a", volume, CASES["ct_oblique"][1], modality="MR",
                               series_description="T2", seed=3, series_number=4)
    second = write_dicom_series(tmp_path / "b", volume, CASES["ct_oblique"][1], modality="MR",
                                series_description="T2", seed=3, series_number=4)
    other = write_dicom_series(tmp_path / "c", volume, CASES["ct_oblique"][1], modality="MR",
                               series_description="T2", seed=4, series_number=4)

    def digest(paths):
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]

    assert digest(first) == digest(second)
    assert digest(first) != digest(other)
    datasets = [pydicom.dcmread(p) for p in first]
    ds = datasets[0]
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4" and ds.Modality == "MR"
    assert str(ds.PatientName) == "SYNTHETIC^PHANTOM" and ds.PatientID == "SYNTHETIC-3"
    assert ds.SeriesDescription == "T2" and ds.SeriesNumber == 4
    assert (ds.Rows, ds.Columns) == (6, 5)
    assert ds.StudyDate == "20000101"
    assert [d.InstanceNumber for d in datasets] == list(range(1, 8))
    assert len({d.SOPInstanceUID for d in datasets}) == 7
    assert len({d.SeriesInstanceUID for d in datasets}) == 1
    assert float(ds.SliceThickness) == pytest.approx(2.0) == float(ds.SpacingBetweenSlices)
    assert pydicom.dcmread(other[0]).StudyInstanceUID != ds.StudyInstanceUID


def test_shared_study_and_extra_tags(tmp_path):
    volume = _volume("MR")
    paths = write_dicom_series(tmp_path, volume, np.eye(4), modality="MR", study_uid="1.2.3",
                               image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), extra_tags={"EchoTime": 90.0})
    ds = pydicom.dcmread(paths[0])
    assert ds.StudyInstanceUID == "1.2.3"
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    assert float(ds.EchoTime) == 90.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"modality": "PT"}, ValueError, "modality"),
        ({"volume": np.zeros((5, 6))}, ValueError, "volume"),
        ({"volume": np.full((5, 6, 7), np.nan)}, ValueError, "finite"),
        ({"volume": np.zeros((5, 6, 7), dtype=np.complex64)}, TypeError, "real"),
        ({"affine": np.array([[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])}, ValueError, "orthogonal"),
        ({"series_number": 0}, ValueError, "series_number"),
    ],
)
def test_errors(tmp_path, kwargs, error, match):
    arguments = {"volume": np.zeros((5, 6, 7)), "affine": np.eye(4), **kwargs}
    with pytest.raises(error, match=match):
        write_dicom_series(tmp_path, **arguments)
