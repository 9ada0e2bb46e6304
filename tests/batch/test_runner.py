"""The whole batch on a mixed folder: statuses, outputs, manifest, report, resume, shards."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.batch._data import read_pred, write_brats_like, write_dicom_like

from medpipe.batch.manifest import read_manifest
from medpipe.batch.report import rebuild
from medpipe.batch.runner import RunOptions, dry_run_lines, prepare, run_batch

EXPECTED = {
    "BRATS_007": "ok",
    "BraTS_001": "ok",
    "BraTS_002": "ok",
    "corrupt_case": "failed",
    "file1000": "skipped",
    "missing_t1ce": "failed",
    "study_A": "ok",
}
PHI = ("JOHNATHAN", "PID-55501", "19610203")


def make_mixed_folder(root: Path) -> Path:
    from medpipe.synthetic import brain_phantom, write_nifti

    write_brats_like(root / "brats", "BraTS_001", seed=1)
    write_brats_like(root / "brats", "BraTS_002", seed=2)
    write_brats_like(root / "brats", "missing_t1ce", seed=3, names=("t1", None, "t2", "flair"))
    corrupt = write_brats_like(root / "brats", "corrupt_case", seed=4, label=False)
    (corrupt / "corrupt_case_t2.nii.gz").write_bytes(b"\x1f\x8b" + b"not really gzip" * 20)
    write_dicom_like(root, "study_A", seed=6)
    phantom = brain_phantom((21, 22, 19), (2.0, 2.0, 2.0), seed=7)
    for index, modality in enumerate(("t1", "t1ce", "t2", "flair")):
        write_nifti(root / "nnunet" / "imagesTs" / f"BRATS_007_{index:04d}.nii.gz", phantom.images[modality], phantom.affine)
    (root / "kspace").mkdir()
    (root / "kspace" / "file1000.h5").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, tiny_bundle):
    root = make_mixed_folder(tmp_path_factory.mktemp("mixed") / "scans")
    output = root.parent / "out"
    summary = run_batch(RunOptions(str(tiny_bundle), str(root), str(output), progress=False))
    return root, output, summary


def statuses(rows):
    return {r.case_id: r.status for r in rows}


def test_mixed_folder_statuses_and_exit_code(mixed):
    _, output, summary = mixed
    assert statuses(summary.rows) == EXPECTED
    assert summary.exit_code == 2
    rows = {r.case_id: r for r in read_manifest(output / "manifest.csv")}
    assert rows["missing_t1ce"].message == "missing input(s) t1ce; found t1, t2, flair"
    assert "corrupt_case_t2.nii.gz" in rows["corrupt_case"].message and rows["corrupt_case"].message.startswith("running the bundle:")
    assert rows["file1000"].message.startswith("k-space file")
    for case_id in ("missing_t1ce", "corrupt_case"):
        assert (output / "logs" / f"{case_id}.log").is_file()
    assert not list((output / ".tmp").iterdir()), "no temporary case folder may survive"


def test_good_cases_have_outputs_in_input_geometry(mixed):
    import nibabel as nib

    root, output, summary = mixed
    rows = {r.case_id: r for r in summary.rows}
    for case_id, source in [("BraTS_001", root / "brats" / "BraTS_001" / "BraTS_001_t1.nii.gz"),
                            ("BRATS_007", root / "nnunet" / "imagesTs" / "BRATS_007_0000.nii.gz")]:
        folder = output / case_id
        outputs = set(rows[case_id].outputs)
        assert {f"{case_id}/metrics.json", f"{case_id}/qc.png", f"{case_id}/stats.csv"} <= outputs
        (prediction,) = [folder.parent / o for o in outputs if o.endswith(".nii.gz")]
        reference = nib.load(str(source))
        assert read_pred(prediction).shape == reference.shape
        np.testing.assert_allclose(nib.load(str(prediction)).affine, reference.affine, atol=1e-5)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["geometry_matches_input"] is True
        total = sum(r["voxels"] for r in metrics["labels"])
        assert total == int((read_pred(prediction) > 0).sum())
    brats = json.loads((output / "BraTS_001" / "metrics.json").read_text())
    assert set(brats["ground_truth"]["dice"]) >= {"1", "2"} and "0" not in brats["ground_truth"]["dice"]
    dicom = json.loads((output / "study_A" / "metrics.json").read_text())
    assert dicom["series"]["t1ce"] == "#3 'T1 AX POST GD'" and dicom["geometry_matches_input"] is True


def test_no_phi_in_logs_manifest_or_report(mixed):
    _, output, _ = mixed
    text = "".join(p.read_text(errors="replace") for p in output.rglob("*") if p.suffix in (".log", ".csv", ".html", ".json"))
    for value in PHI:
        assert value not in text
    assert "study_A" in (output / "logs" / "study_A.log").read_text()


def test_report_lists_failures_first_with_reasons(mixed):
    _, output, _ = mixed
    html = (output / "report.html").read_text()
    positions = {case: html.index(f'id="case-{case}"') for case in EXPECTED}
    failed = [positions[c] for c, s in EXPECTED.items() if s == "failed"]
    others = [positions[c] for c, s in EXPECTED.items() if s != "failed"]
    assert max(failed) < min(others)
    assert "missing input(s) t1ce" in html and 'href="logs/corrupt_case.log"' in html
    assert html.count('src="data:image/png;base64,') == 4


def test_rerun_skips_finished_cases_and_keeps_their_bytes(mixed, tiny_bundle):
    root, output, _ = mixed
    before = {p: p.read_bytes() for p in output.glob("*/*") if p.parent.name in EXPECTED}
    summary = run_batch(RunOptions(str(tiny_bundle), str(root), str(output), progress=False))
    expected = {c: ("skipped" if s == "ok" else s) for c, s in EXPECTED.items()}
    assert statuses(summary.rows) == expected
    assert {r.case_id: r.message for r in summary.rows if r.status == "skipped" and r.case_id != "file1000"} == {
        c: "up to date" for c, s in EXPECTED.items() if s == "ok"}
    assert {p: p.read_bytes() for p in before} == before
    assert summary.exit_code == 2


def test_changed_input_recomputes_only_that_case(tmp_path, tiny_bundle):
    root = tmp_path / "scans"
    write_brats_like(root, "A", seed=1)
    write_brats_like(root, "B", seed=2)
    output = tmp_path / "out"
    run_batch(RunOptions(str(tiny_bundle), str(root), str(output), progress=False))
    shutil.copy(root / "B" / "B_t1.nii.gz", root / "A" / "A_t1.nii.gz")
    summary = run_batch(RunOptions(str(tiny_bundle), str(root), str(output), progress=False))
    assert statuses(summary.rows) == {"A": "ok", "B": "skipped"}
    assert summary.exit_code == 0


def test_two_shards_and_report_equal_one_run(mixed, tiny_bundle, tmp_path):
    root, output, summary = mixed
    shards = tmp_path / "sharded"
    for part in (0, 1):
        part_summary = run_batch(RunOptions(str(tiny_bundle), str(root), str(shards), part_id=part, num_parts=2, progress=False))
        assert part_summary.report is None and part_summary.manifest.name == f"manifest.part-{part}-of-2.csv"
    assert not (shards / "manifest.csv").exists()
    report, rows = rebuild(shards)
    assert report == shards / "report.html"

    def strip(rows):
        return [(r.case_id, r.status, r.message, r.outputs) for r in rows]

    # The module's first run (later tests rerun into `output`, so compare with its summary).
    assert strip(read_manifest(shards / "manifest.csv")) == strip(summary.rows) == strip(rows)
    for case_id, status in EXPECTED.items():
        if status == "ok":
            for name in (output / case_id).iterdir():
                assert (shards / case_id / name.name).read_bytes() == name.read_bytes()


def test_dry_run_lists_inputs_and_reasons_without_writing(mixed, tiny_bundle, tmp_path):
    root, output, _ = mixed
    config, cases, _ = prepare(RunOptions(str(tiny_bundle), str(root), str(output)))
    text = "\n".join(dry_run_lines(config, cases))
    assert "BraTS_001: skip (up to date)" in text
    assert "missing_t1ce: fail (missing input(s) t1ce; found t1, t2, flair)" in text
    assert "file1000: skip (k-space file" in text
    assert "t1ce: series #3 'T1 AX POST GD', 19 file(s)" in text and "Localizer' left out" in text
    config, cases, _ = prepare(RunOptions(str(tiny_bundle), str(root), str(tmp_path / "fresh")))
    assert "BraTS_001: run (no finished outputs)" in "\n".join(dry_run_lines(config, cases))
    assert not (tmp_path / "fresh").exists()


def test_usage_errors(tiny_bundle, tmp_path):
    with pytest.raises(ValueError, match="`--scheduler` and `--dask-workers` must not be combined"):
        prepare(RunOptions(str(tiny_bundle), str(tmp_path), str(tmp_path / "o"), scheduler="tcp://x:1", dask_workers=2))
    with pytest.raises(ValueError, match="`--dask-workers` must be >= 1"):
        prepare(RunOptions(str(tiny_bundle), str(tmp_path), str(tmp_path / "o"), dask_workers=0))


REAL_BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "brats_mri_revunet_segmentation"


@pytest.mark.skipif(not (REAL_BUNDLE / "models" / "model.pt").is_file(), reason="the segmentation bundle ships no weights yet")
def test_real_segmentation_bundle_on_a_mixed_folder(tmp_path):
    """The shipped BraTS bundle on medpipe.synthetic's own layouts, side by side with broken cases."""
    from medpipe.synthetic import brain_phantom, write_brats_case, write_dicom_study, write_nnunet_case

    def phantom(seed):
        return brain_phantom((48, 52, 40), (4.0, 4.0, 4.0), seed=seed)

    root = tmp_path / "scans"
    write_brats_case(root / "brats", "BraTS_001", phantom(1))
    paths = write_brats_case(root / "brats", "BraTS_002", phantom(2))
    paths["t1ce"].unlink()
    paths = write_brats_case(root / "brats", "BraTS_003", phantom(3))
    paths["flair"].write_bytes(b"\x1f\x8b\x08broken")
    write_nnunet_case(root / "Dataset500", "NN_004", phantom(4))
    write_dicom_study(root, "study_5", phantom(5), localizer=True)
    summary = run_batch(RunOptions("brats_mri_revunet_segmentation", str(root), str(tmp_path / "out"), progress=False))
    assert statuses(summary.rows) == {"BraTS_001": "ok", "BraTS_002": "failed", "BraTS_003": "failed", "NN_004": "ok", "study_5": "ok"}
    assert summary.exit_code == 2
    metrics = json.loads((tmp_path / "out" / "BraTS_001" / "metrics.json").read_text())
    assert {r["label"] for r in metrics["labels"]} <= {"necrotic / non-enhancing core", "oedema", "enhancing tumour (3 with et_label=3)"}
    assert metrics["geometry_matches_input"] is True
    assert "Localizer' left out" in (tmp_path / "out" / "logs" / "study_5.log").read_text()


def test_progress_is_quiet_off_a_terminal_or_when_asked(monkeypatch):
    from medpipe.batch.runner import _progress

    assert _progress(3, True).disable  # pytest's stderr is not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert not _progress(3, True).disable
    assert _progress(3, False).disable
