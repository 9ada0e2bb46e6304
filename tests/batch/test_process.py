"""One case in isolation: failures become rows with a reason and a log, outputs appear atomically."""

import json
from pathlib import Path

import pytest
from tests.batch._data import write_brats_like, write_dicom_like

from medpipe.batch.discovery import Case, discover_cases
from medpipe.batch.engine import bundle_digest, resolve_bundle
from medpipe.batch.process import RunConfig, _one_line, get_engine, process_case
from medpipe.batch.resume import RECORD_NAME
from medpipe.batch.series_rules import default_rules


def config_for(bundle: Path, output: Path, **kwargs) -> RunConfig:
    spec = resolve_bundle(bundle)
    return RunConfig(spec, str(output), bundle_digest(spec), rules=default_rules(spec.channels), **kwargs)


def test_a_crash_inside_the_bundle_fails_only_that_case(tiny_bundle, tmp_path):
    from medpipe.synthetic import brain_phantom, write_nifti

    folder = write_brats_like(tmp_path / "scans", "odd", seed=1)
    small = brain_phantom((9, 10, 11), (2.0, 2.0, 2.0), seed=1)
    write_nifti(folder / "odd_t2.nii.gz", small.images["t2"], small.affine)  # a grid the others do not share
    config = config_for(tiny_bundle, tmp_path / "out")
    (case,) = discover_cases(tmp_path / "scans", config.spec, config.rules)
    result = process_case(case, config)
    assert result.row.status == "failed" and result.row.message.startswith("running the bundle: ")
    assert "\n" not in result.row.message and len(result.row.message) <= 320
    assert not (tmp_path / "out" / "odd").exists()
    assert list((tmp_path / "out" / ".tmp").iterdir()) == []
    assert "Traceback" in (tmp_path / "out" / "logs" / "odd.log").read_text()


def test_a_stale_case_folder_is_replaced_whole(tiny_bundle, tmp_path):
    write_brats_like(tmp_path / "scans", "A", seed=1)
    config = config_for(tiny_bundle, tmp_path / "out")
    (tmp_path / "out" / "A").mkdir(parents=True)
    (tmp_path / "out" / "A" / "half_written.nii.gz").write_bytes(b"x")
    (case,) = discover_cases(tmp_path / "scans", config.spec, config.rules)
    result = process_case(case, config)
    assert result.row.status == "ok"
    names = sorted(p.name for p in (tmp_path / "out" / "A").iterdir())
    assert names == sorted([RECORD_NAME, "A_t1_seg.nii.gz", "metrics.json", "qc.png", "stats.csv"])
    assert json.loads((tmp_path / "out" / "A" / RECORD_NAME).read_text())["outputs"] == list(result.row.outputs)
    assert result.timings["inference_s"] > 0 and result.timings["total_s"] >= result.timings["inference_s"]
    assert get_engine(config) is get_engine(config)


@pytest.mark.parametrize("keep_phi", [False, True])
def test_phi_in_a_reason_is_scrubbed_unless_kept(tiny_bundle, tmp_path, keep_phi):
    write_dicom_like(tmp_path / "scans", "study", seed=3, localizer=False, extra=False,
                     descriptions={"t1": "T1 JOHNATHAN", "t1ce": "T1 AX POST GD", "t2": "T2 AX", "flair": "AX FLAIR"})
    import numpy as np

    from medpipe.synthetic import write_dicom_series

    write_dicom_series(tmp_path / "scans" / "study" / "t1sag", np.ones((21, 22, 4), np.float32), np.diag([2.0, 2.0, 2.0, 1.0]),
                       modality="MR", series_description="T1 SAG", seed=3, series_number=9, patient_id="PID-55501",
                       study_uid="1.2.826.0.1.3680043.8.498.1003",  # the study write_dicom_like(seed=3) wrote
                       extra_tags={"PatientName": "DOE^JOHNATHAN"})
    config = config_for(tiny_bundle, tmp_path / "out", keep_phi=keep_phi)
    (case,) = discover_cases(tmp_path / "scans", config.spec, config.rules)
    row = process_case(case, config).row
    assert row.status == "failed" and "ambiguous" in row.message
    log = (tmp_path / "out" / "logs" / "study.log").read_text()
    assert ("JOHNATHAN" in row.message + log) is keep_phi
    assert ("[PHI]" in row.message) is not keep_phi


def test_skip_reason_and_problem_rows(tiny_bundle, tmp_path):
    config = config_for(tiny_bundle, tmp_path / "out")
    skipped = process_case(Case("k", "fastmri", skip_reason="k-space file; bundle x takes images"), config).row
    assert (skipped.status, skipped.message) == ("skipped", "k-space file; bundle x takes images")
    failed = process_case(Case("m", "brats", problem="missing input(s) t1ce; found t1"), config).row
    assert (failed.status, failed.message, failed.outputs) == ("failed", "missing input(s) t1ce; found t1", ())
    assert "missing input(s) t1ce" in (tmp_path / "out" / "logs" / "m.log").read_text()


def test_one_line_reports_the_innermost_cause():
    try:
        try:
            raise OSError("disk full\nmore detail")
        except OSError as inner:
            raise RuntimeError("applying transform <LoadImaged object>") from inner
    except RuntimeError as err:
        assert _one_line(err) == "OSError: disk full"


def test_dicom_input_gives_dicom_seg_on_the_source_series(tiny_bundle, tmp_path):
    import nibabel as nib
    import numpy as np

    from medpipe.io.dicom_seg import read_dicom_seg

    write_dicom_like(tmp_path / "scans", "study", seed=3)
    config = config_for(tiny_bundle, tmp_path / "out", dicom_seg=True)
    (case,) = discover_cases(tmp_path / "scans", config.spec, config.rules)
    row = process_case(case, config).row
    assert row.status == "ok", row.message
    assert "study/seg.dcm" in row.outputs
    prediction = np.asanyarray(nib.load(str(tmp_path / "out" / "study" / "study_t1_seg.nii.gz")).dataobj)
    label_map, names = read_dicom_seg(tmp_path / "out" / "study" / "seg.dcm", list(case.inputs["t1"]))
    np.testing.assert_array_equal(label_map, prediction)
    assert set(names.values()) <= {"core", "oedema"}
    assert json.loads((tmp_path / "out" / "study" / "metrics.json").read_text())["dicom_seg"] == "seg.dcm"


def test_phi_is_scrubbed_even_when_no_series_matched(tiny_bundle, tmp_path):
    write_dicom_like(tmp_path / "scans", "study", seed=3, localizer=False, extra=False,
                     descriptions={"t1": "DOE JOHNATHAN survey"})
    config = config_for(tiny_bundle, tmp_path / "out")
    (case,) = discover_cases(tmp_path / "scans", config.spec, config.rules)
    assert case.inputs == {} and len(case.phi_files) == 1
    row = process_case(case, config).row
    assert row.status == "failed"
    assert "JOHNATHAN" not in (tmp_path / "out" / "logs" / "study.log").read_text() + row.message


def test_series_descriptions_in_metrics_are_scrubbed(tiny_bundle, tmp_path):
    write_dicom_like(tmp_path / "scans", "study", seed=3, localizer=False, extra=False,
                     descriptions={"t1": "T1 AX JOHNATHAN", "t1ce": "T1 AX POST GD", "t2": "T2 AX", "flair": "AX FLAIR"})
    config = config_for(tiny_bundle, tmp_path / "out")
    (case,) = discover_cases(tmp_path / "scans", config.spec, config.rules)
    assert process_case(case, config).row.status == "ok"
    metrics = json.loads((tmp_path / "out" / "study" / "metrics.json").read_text())
    assert metrics["series"]["t1"] == "#1 'T1 AX [PHI]'"
