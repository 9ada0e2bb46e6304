"""Case discovery: BraTS/nnU-Net/DICOM/fastMRI layouts, and the problems reported instead of guessed."""

import json
from pathlib import Path

import pytest
from tests.batch._data import MODALITIES, SHAPE, SPACING, write_brats_like, write_dicom_like

from medpipe.batch.discovery import discover_cases, dicom_series_in
from medpipe.batch.engine import BundleSpec
from medpipe.batch.series_rules import default_rules

BRATS = BundleSpec("brats_x_segmentation", Path("."), "image", MODALITIES, task="segmentation")
RULES = default_rules(MODALITIES)


def write_nnunet(root: Path, case_id: str, order=MODALITIES, dataset_json=None):
    from medpipe.synthetic import brain_phantom, write_nifti

    phantom = brain_phantom(SHAPE, SPACING, seed=5)
    images = root / "imagesTs"
    images.mkdir(parents=True, exist_ok=True)
    for index, modality in enumerate(order):
        write_nifti(images / f"{case_id}_{index:04d}.nii.gz", phantom.images[modality], phantom.affine)
    (root / "labelsTs").mkdir(exist_ok=True)
    write_nifti(root / "labelsTs" / f"{case_id}.nii.gz", phantom.label, phantom.affine)
    if dataset_json is not None:
        (root / "dataset.json").write_text(json.dumps(dataset_json))
    return images


def by_id(cases):
    return {c.case_id: c for c in cases}


def test_brats_layouts_2021_and_2023_names(tmp_path):
    write_brats_like(tmp_path, "BraTS2021_00001", seed=1)
    write_brats_like(tmp_path, "BraTS-GLI-00002-000", seed=2, names=("t1n", "t1c", "t2w", "t2f"), separator="-")
    cases = by_id(discover_cases(tmp_path, BRATS, RULES))
    assert set(cases) == {"BraTS2021_00001", "BraTS-GLI-00002-000"}
    for case in cases.values():
        assert case.problem is None and case.layout == "brats"
        assert list(case.inputs) == list(MODALITIES)
        assert case.label is not None and "seg" in Path(case.label).name
    assert cases["BraTS-GLI-00002-000"].inputs["t1ce"][0].endswith("-t1c.nii.gz")


def test_nnunet_layout_follows_dataset_json_channel_names(tmp_path):
    msd_order = ("flair", "t1", "t1ce", "t2")
    write_nnunet(tmp_path, "BRATS_007", order=msd_order,
                 dataset_json={"channel_names": {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}})
    (case,) = discover_cases(tmp_path, BRATS, RULES)
    assert case.case_id == "BRATS_007" and case.layout == "nnunet" and case.problem is None
    assert case.inputs["flair"][0].endswith("_0000.nii.gz") and case.inputs["t2"][0].endswith("_0003.nii.gz")
    assert case.label.endswith("labelsTs/BRATS_007.nii.gz")


def test_nnunet_without_dataset_json_uses_bundle_channel_order(tmp_path):
    write_nnunet(tmp_path, "case7")
    (case,) = discover_cases(tmp_path, BRATS, RULES)
    assert [Path(case.inputs[m][0]).name for m in MODALITIES] == [f"case7_{i:04d}.nii.gz" for i in range(4)]


def test_missing_modality_unknown_name_and_duplicates_are_problems(tmp_path):
    write_brats_like(tmp_path, "missing", seed=1, names=("t1", None, "t2", "flair"))
    folder = write_brats_like(tmp_path, "dup", seed=2)
    (folder / "dup_t1.nii.gz").rename(folder / "dup_t1w.nii.gz")
    (folder / "dup_t1n.nii.gz").write_bytes((folder / "dup_t1w.nii.gz").read_bytes())
    (tmp_path / "scan.nii.gz").write_bytes(b"x")
    cases = by_id(discover_cases(tmp_path, BRATS, RULES))
    assert cases["missing"].problem == "missing input(s) t1ce; found t1, t2, flair"
    assert cases["dup"].problem.startswith("two files for input 't1'")
    assert "cannot tell which input scan.nii.gz is" in cases["scan"].problem


def test_dicom_study_matches_series_and_notes_left_out_ones(tmp_path):
    write_dicom_like(tmp_path, "study_A", seed=3)
    (case,) = discover_cases(tmp_path, BRATS, RULES)
    assert case.case_id == "study_A" and case.layout == "dicom" and case.problem is None
    assert case.series == {"t1": "#2 'T1 AX'", "t1ce": "#3 'T1 AX POST GD'", "t2": "#4 'T2 AX'", "flair": "#5 'AX FLAIR'"}
    assert all(len(files) == SHAPE[2] for files in case.inputs.values())
    assert any("Localizer" in n for n in case.notes) and any("DWI" in n for n in case.notes)


def test_dicom_ambiguous_series_is_a_problem(tmp_path):
    write_dicom_like(tmp_path, "study_B", seed=4, localizer=False, extra=False,
                     descriptions={"t1": "T1 AX", "t1ce": "T1 POST", "t2": "T2 AX", "flair": "T2 AX 2"})
    (case,) = discover_cases(tmp_path, BRATS, RULES)
    assert "ambiguous: 2 series match input 't2'" in case.problem and "no series matches input 'flair'" in case.problem


def test_dicom_series_in_reports_unreadable_files(tmp_path):
    write_dicom_like(tmp_path, "s", seed=3, localizer=False, extra=False)
    (tmp_path / "s" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 10)
    series = dicom_series_in(tmp_path / "s")
    assert [s["uid"] is None for s in series] == [False] * 4 + [True]
    assert series[-1]["files"][0].endswith("broken.dcm")


def test_kspace_files_are_skipped_for_an_image_bundle_and_used_by_a_recon_bundle(tmp_path):
    (tmp_path / "file1000.h5").write_bytes(b"")
    (case,) = discover_cases(tmp_path, BRATS, RULES)
    assert case.skip_reason == "k-space file; bundle brats_x_segmentation takes images"
    recon = BundleSpec("mri_rim_reconstruction", Path("."), "image", ("image",), task="reconstruction")
    (case,) = discover_cases(tmp_path, recon, default_rules(("image",)))
    assert case.skip_reason is None and case.inputs == {"image": (str(tmp_path / "file1000.h5"),)}


def test_not_a_folder_is_a_usage_error(tmp_path):
    with pytest.raises(ValueError, match="`input` must be an existing folder"):
        discover_cases(tmp_path / "absent", BRATS, RULES)


def test_suffixes_declared_by_the_bundle_layout(tmp_path):
    from tests.batch._data import write_tiny_bundle

    from medpipe.batch.engine import resolve_bundle

    root = write_tiny_bundle(tmp_path / "b")
    config = json.loads((root / "configs" / "inference.json").read_text())
    config["dataset_layout"] = {"images": {"t1": "{case_id}_T1PRE.nii.gz", "t1ce": "{case_id}_T1POST.nii.gz",
                                           "t2": "{case_id}_T2.nii.gz", "flair": "{case_id}_DARKFLUID.nii.gz"}}
    (root / "configs" / "inference.json").write_text(json.dumps(config))
    spec = resolve_bundle(root)
    assert spec.suffixes == {"t1pre": "t1", "t1post": "t1ce", "t2": "t2", "darkfluid": "flair"}
    write_brats_like(tmp_path / "scans", "site7", seed=1, names=("T1PRE", "T1POST", "T2", "DARKFLUID"), label=False)
    (case,) = discover_cases(tmp_path / "scans", spec, RULES)
    assert case.problem is None and case.inputs["flair"][0].endswith("site7_DARKFLUID.nii.gz")


def test_dicom_studies_grouped_by_study_uid_at_any_depth(tmp_path):
    """Two studies exported under one folder are two cases, each named after its own folder."""
    from medpipe.synthetic import brain_phantom, write_dicom_study

    root = tmp_path / "in"
    for seed, study in [(1, "study_a"), (2, "study_b")]:
        write_dicom_study(root / "export" / "dicom", study, brain_phantom((24, 20, 16), (8.0, 8.0, 8.0), seed=seed))
    cases = discover_cases(root, BRATS, RULES)
    assert [c.case_id for c in cases] == ["study_a", "study_b"]
    assert all(c.problem is None and len(c.inputs) == 4 for c in cases)
