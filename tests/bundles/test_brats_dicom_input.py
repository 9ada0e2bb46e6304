"""The BraTS bundle reads each modality from a DICOM series folder as well as from NIfTI."""

from __future__ import annotations

import numpy as np

from tests.bundles.workflows import bundle_configs, bundle_workflow

BRATS = "brats_mri_revunet_segmentation"
MODALITIES = ("t1", "t1ce", "t2", "flair")


def test_inference_from_dicom_series_folders(tmp_path, monkeypatch):
    import nibabel as nib
    import torch

    from medpipe.synthetic import brain_phantom, write_dicom_series
    from medpipe.transforms.brats import brats_label_to_regions

    phantom = brain_phantom((32, 32, 24), (7.5, 7.5, 155 / 24), seed=1003)
    for number, modality in enumerate(MODALITIES, start=1):
        write_dicom_series(
            tmp_path / "data" / "case" / modality, phantom.images[modality], phantom.affine,
            modality="MR", series_description=modality, seed=1003, series_number=number,
        )
    monkeypatch.chdir(tmp_path)
    workflow = bundle_workflow(
        BRATS, bundle_configs(BRATS, "inference.json"), "infer",
        {
            "dataset_dir": str(tmp_path / "data"),
            "dataset_layout": {"images": {m: "{case_id}/" + m for m in MODALITIES}},
            "output_dir": str(tmp_path / "out"),
        },
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    pred = nib.load(tmp_path / "out" / "case_seg.nii.gz")
    assert pred.shape == (32, 32, 24)
    np.testing.assert_allclose(pred.affine, phantom.affine, atol=1e-3)
    wt_pred = brats_label_to_regions(torch.as_tensor(np.asarray(pred.dataobj)))[1].bool()
    wt_gt = brats_label_to_regions(torch.as_tensor(phantom.label))[1].bool()
    dice = float(2 * (wt_pred & wt_gt).sum() / (wt_pred.sum() + wt_gt.sum()))
    assert dice >= 0.8, f"WT Dice from DICOM input {dice:.3f} < 0.8"
