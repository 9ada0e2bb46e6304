"""Folder layouts: BraTS, nnU-Net and DICOM studies produce the documented names and contents."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest

from medpipe.synthetic.brain import brain_phantom
from medpipe.synthetic.ct import abdomen_ct_phantom
from medpipe.synthetic.layouts import write_brats_case, write_dicom_study, write_nnunet_case


@pytest.fixture(scope="module")
def brain():
    return brain_phantom((17, 19, 13), (14.0, 12.5, 12.0), seed=2)


@pytest.fixture(scope="module")
def ct():
    return abdomen_ct_phantom((26, 24, 25), (5.5, 5.0, 6.4), seed=2)


def _relative(paths, root):
    return sorted(str(p.relative_to(root)) for p in paths)


def test_brats_case(tmp_path, brain):
    paths = write_brats_case(tmp_path, "BraTS2021_00007", brain)
    assert _relative(paths.values(), tmp_path) == [
        f"BraTS2021_00007/BraTS2021_00007_{suffix}.nii.gz" for suffix in ("flair", "seg", "t1", "t1ce", "t2")
    ]
    seg = nib.load(paths["seg"])
    np.testing.assert_array_equal(np.asarray(seg.dataobj), brain.label)
    np.testing.assert_allclose(seg.affine, brain.affine)
    np.testing.assert_array_equal(nib.load(paths["t1ce"]).get_fdata(dtype=np.float32), brain.images["t1ce"])


def test_nnunet_case_brain_and_ct(tmp_path, brain, ct):
    paths = write_nnunet_case(tmp_path, "case_001", brain)
    assert _relative(paths.values(), tmp_path) == [
        *(f"imagesTs/case_001_{i:04d}.nii.gz" for i in range(4)),
        "labelsTs/case_001.nii.gz",
    ]
    # channel order t1, t1ce, t2, flair
    np.testing.assert_array_equal(nib.load(paths["0002"]).get_fdata(dtype=np.float32), brain.images["t2"])
    paths = write_nnunet_case(tmp_path, "ct_002", ct, split="Tr")
    assert _relative(paths.values(), tmp_path) == ["imagesTr/ct_002_0000.nii.gz", "labelsTr/ct_002.nii.gz"]
    np.testing.assert_array_equal(np.asarray(nib.load(paths["label"]).dataobj), ct.label)


def test_dicom_study_brain_with_localizer(tmp_path, brain):
    written = write_dicom_study(tmp_path, "study1", brain, localizer=True)
    assert sorted(written) == ["01_T1", "02_T1_post_contrast", "03_T2", "04_FLAIR", "99_Localizer"]
    assert sorted(p.name for p in (tmp_path / "study1").iterdir()) == sorted(written)
    studies, frames = set(), set()
    for name, paths in written.items():
        ds = pydicom.dcmread(paths[0])
        studies.add(ds.StudyInstanceUID)
        frames.add(ds.FrameOfReferenceUID)
        assert ds.Modality == "MR" and ds.PatientID == "SYNTHETIC-study1"
        if name == "99_Localizer":
            assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "LOCALIZER"]
            assert len(paths) == 3
            orientation = np.array(ds.ImageOrientationPatient, dtype=float)
            assert abs(np.cross(orientation[:3], orientation[3:])[0]) > 0.99  # sagittal
        else:
            assert len(paths) == 13 and (ds.Rows, ds.Columns) == (19, 17)
    assert pydicom.dcmread(written["02_T1_post_contrast"][0]).SeriesDescription == "T1 post contrast"
    assert pydicom.dcmread(written["04_FLAIR"][0]).InversionTime == 2500.0
    assert len(studies) == 1 and len(frames) == 1


def test_dicom_study_ct_and_determinism(tmp_path, ct):
    first = write_dicom_study(tmp_path / "a", "abd", ct)
    second = write_dicom_study(tmp_path / "b", "abd", ct)
    assert list(first) == ["01_CT_abdomen"]
    assert [p.read_bytes() for p in first["01_CT_abdomen"]] == [p.read_bytes() for p in second["01_CT_abdomen"]]
    ds = pydicom.dcmread(first["01_CT_abdomen"][0])
    assert ds.Modality == "CT" and ds.SeriesDescription == "CT abdomen"


def test_errors(tmp_path, brain, ct):
    with pytest.raises(TypeError, match="BrainPhantom"):
        write_brats_case(tmp_path, "c", ct)
    with pytest.raises(ValueError, match="case_id"):
        write_brats_case(tmp_path, "../escape", brain)
    with pytest.raises(ValueError, match="split"):
        write_nnunet_case(tmp_path, "c", brain, split="Val")
    with pytest.raises(TypeError, match="phantom"):
        write_nnunet_case(tmp_path, "c", object())
    with pytest.raises(TypeError, match="phantom"):
        write_dicom_study(tmp_path, "s", np.zeros(3))
    with pytest.raises(ValueError, match="study_id"):
        write_dicom_study(tmp_path, "", brain)
