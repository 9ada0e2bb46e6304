"""The BraTS bundle on the real case ``nifti/brats_tcia_example`` (240 x 240 x 155 x 4).

Only completion and a well-formed output are checked: the shipped weights were trained on coarse
synthetic phantoms, so the labels they give this case are not meant to be accurate. The time and
peak memory of this run are recorded in the bundle's docs/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.bundles.workflows import bundle_configs, bundle_workflow

BRATS = "brats_mri_revunet_segmentation"
CASE = "brats_tcia_example"
LAYOUT = {"images": {m: f"{{case_id}}/{m}.nii.gz" for m in ("t1", "t1ce", "t2", "flair")}}


@pytest.mark.slow
@pytest.mark.realdata
def test_inference_on_the_real_brats_case(real_data, tmp_path, monkeypatch):
    import nibabel as nib

    if not (real_data / "nifti" / CASE / "t1.nii.gz").is_file():
        pytest.skip(f"real case nifti/{CASE} not found in {real_data}")
    monkeypatch.chdir(tmp_path)
    workflow = bundle_workflow(
        BRATS, bundle_configs(BRATS, "inference.json"), "infer",
        {"dataset_dir": str(real_data / "nifti"), "dataset_layout": LAYOUT, "output_dir": str(tmp_path / "out")},
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    source = nib.load(real_data / "nifti" / CASE / "t1.nii.gz")
    pred = nib.load(tmp_path / "out" / f"{CASE}_seg.nii.gz")
    assert pred.shape == (240, 240, 155)
    labels = np.asarray(pred.dataobj)
    assert set(np.unique(labels).tolist()) <= {0, 1, 2, 4}
    # The prediction lies on the input's physical grid (LoadScand may reorder axes to RAS).
    np.testing.assert_allclose(
        np.abs(np.linalg.det(pred.affine[:3, :3])), np.abs(np.linalg.det(source.affine[:3, :3])), rtol=1e-5
    )
