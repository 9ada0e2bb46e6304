"""The bundle engine: resolution, digest, and voxel parity with MONAI's own `monai.bundle run`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.batch._data import MODALITIES, read_pred, write_brats_like

from medpipe.batch.engine import BundleEngine, bundle_digest, resolve_bundle


def case_paths(folder: Path) -> list[str]:
    return [str(folder / f"{folder.name}_{m}.nii.gz") for m in MODALITIES]


def test_resolve_bundle_reads_metadata(tiny_bundle):
    spec = resolve_bundle(tiny_bundle)
    assert spec.name == "tiny_brats_segmentation" and spec.task == "segmentation"
    assert spec.input_key == "image" and spec.channels == MODALITIES
    assert spec.output_channels == {0: "background", 1: "core", 2: "oedema"}


def test_post_processed_output_names_win(tmp_path):
    from tests.batch._data import write_tiny_bundle

    root = write_tiny_bundle(tmp_path)
    metadata = json.loads((root / "configs" / "metadata.json").read_text())
    metadata["network_data_format"]["post_processed_outputs"] = {"pred": {"channel_def": {"0": "background", "4": "enhancing"}}}
    (root / "configs" / "metadata.json").write_text(json.dumps(metadata))
    assert resolve_bundle(root).output_channels == {0: "background", 4: "enhancing"}


def test_resolve_bundle_errors(tmp_path):
    with pytest.raises(ValueError, match="`bundle` must be a bundle name in"):
        resolve_bundle("no_such_bundle_anywhere")
    (tmp_path / "meta_only" / "configs").mkdir(parents=True)
    (tmp_path / "meta_only" / "configs" / "metadata.json").write_text("{}")
    with pytest.raises(ValueError, match="`bundle` must contain configs/inference.json"):
        resolve_bundle(tmp_path / "meta_only")


def test_bundle_digest_changes_with_weights(tmp_path):
    from tests.batch._data import write_tiny_bundle

    spec = resolve_bundle(write_tiny_bundle(tmp_path))
    before = bundle_digest(spec)
    assert bundle_digest(spec) == before
    weights = spec.root / "models" / "model.pt"
    weights.write_bytes(weights.read_bytes() + b"\0")
    assert bundle_digest(spec) != before


def test_engine_rejects_a_config_without_postprocessing(tmp_path):
    from tests.batch._data import write_tiny_bundle

    root = write_tiny_bundle(tmp_path)
    config = json.loads((root / "configs" / "inference.json").read_text())
    del config["postprocessing"]
    (root / "configs" / "inference.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="inference.json must define `postprocessing`"):
        BundleEngine(resolve_bundle(root))


def test_parity_with_monai_bundle_run(tiny_bundle, tmp_path):
    """Same voxels as `monai.bundle.run` (the function behind `python -m monai.bundle run`)."""
    from monai.bundle import run

    folder = write_brats_like(tmp_path / "scans", "BraTS_009", seed=9)
    engine = BundleEngine(resolve_bundle(tiny_bundle))
    item = engine.make_item(dict(zip(MODALITIES, case_paths(folder))), "BraTS_009")
    assert item == {"case_id": "BraTS_009", "image": case_paths(folder)}
    ours = engine.run_case(item, _mkdir(tmp_path / "ours"))
    # A second case through the same engine must not disturb the first one's parity.
    other = write_brats_like(tmp_path / "scans", "BraTS_010", seed=10)
    engine.run_case(engine.make_item(dict(zip(MODALITIES, case_paths(other))), "BraTS_010"), _mkdir(tmp_path / "ours2"))
    run(config_file=str(tiny_bundle / "configs" / "inference.json"), meta_file=str(tiny_bundle / "configs" / "metadata.json"),
        bundle_root=str(tiny_bundle), datalist=[{"image": case_paths(folder)}], output_dir=str(tmp_path / "monai"))
    (theirs,) = sorted((tmp_path / "monai").rglob("*.nii.gz"))
    (mine,) = ours["files"]
    assert mine.name == theirs.name
    np.testing.assert_array_equal(read_pred(mine), read_pred(theirs))
    import nibabel as nib

    np.testing.assert_allclose(nib.load(str(mine)).affine, nib.load(str(case_paths(folder)[0])).affine, atol=1e-5)
    assert ours["inference_s"] > 0 and ours["pipeline_s"] >= ours["inference_s"]
    assert len(np.unique(read_pred(mine))) > 1, "the tiny network must predict more than one label"


def test_parity_with_python_m_monai_bundle_run_subprocess(tiny_bundle, tmp_path):
    folder = write_brats_like(tmp_path / "scans", "BraTS_011", seed=11)
    result = BundleEngine(resolve_bundle(tiny_bundle)).run_case({"image": case_paths(folder)}, _mkdir(tmp_path / "ours"))
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(tiny_bundle / "configs" / "inference.json"),
               "--bundle_root", str(tiny_bundle), "--datalist", repr([{"image": case_paths(folder)}]),
               "--output_dir", str(tmp_path / "monai")]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    (theirs,) = sorted((tmp_path / "monai").rglob("*.nii.gz"))
    np.testing.assert_array_equal(read_pred(result["files"][0]), read_pred(theirs))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


REAL_BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "brats_mri_revunet_segmentation"


@pytest.mark.skipif(not (REAL_BUNDLE / "models" / "model.pt").is_file(), reason="the segmentation bundle ships no weights yet")
def test_real_bundle_medpipe_run_equals_python_m_monai_bundle_run(tmp_path):
    from medpipe.batch.runner import RunOptions, run_batch
    from medpipe.synthetic import brain_phantom, write_brats_case

    for seed in (1, 2):
        write_brats_case(tmp_path / "scans", f"BraTS_00{seed}", brain_phantom((48, 52, 40), (4.0, 4.0, 4.0), seed=seed))
    run_batch(RunOptions("brats_mri_revunet_segmentation", str(tmp_path / "scans"), str(tmp_path / "medpipe"), progress=False))
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(REAL_BUNDLE / "configs" / "inference.json"),
               "--meta_file", str(REAL_BUNDLE / "configs" / "metadata.json"), "--bundle_root", str(REAL_BUNDLE),
               "--dataset_dir", str(tmp_path / "scans"), "--output_dir", str(tmp_path / "monai"), "--device", "$torch.device('cpu')"]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    for case_id in ("BraTS_001", "BraTS_002"):
        theirs = tmp_path / "monai" / f"{case_id}_seg.nii.gz"
        ours = tmp_path / "medpipe" / case_id / f"{case_id}_seg.nii.gz"
        np.testing.assert_array_equal(read_pred(ours), read_pred(theirs))
