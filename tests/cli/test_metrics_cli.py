"""`medpipe metrics PRED GT` on NIfTI and DICOM-SEG files."""

from __future__ import annotations

import json

import nibabel
import numpy as np
import pytest

from medpipe import metrics
from medpipe.cli import main
from medpipe.metrics.betti_matching import load_reference


def _has_reference() -> bool:
    try:
        load_reference()
    except ImportError:
        return False
    return True


def _write(path, array, spacing=(0.8, 0.9, 2.0)):
    nibabel.save(nibabel.Nifti1Image(array, np.diag(list(spacing) + [1.0])), path)
    return str(path)


@pytest.fixture()
def pair(tmp_path):
    gt = np.zeros((9, 10, 7), dtype=np.uint8)
    gt[1:8, 2:9, 3] = 1
    gt[3:6, 4:7, 3] = 0  # a ring: label 1 has one loop
    gt[2:4, 2:4, 5:7] = 4
    pred = gt.copy()
    pred[1:3, 5, 3] = 0  # the ring is broken
    return _write(tmp_path / "pred.nii.gz", pred), _write(tmp_path / "gt.nii.gz", gt), pred, gt


def test_json_output_matches_library(pair, capsys):
    pred_path, gt_path, pred, gt = pair
    assert main(["metrics", pred_path, gt_path, "--json", "--labels", "1,4"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["spacing"] == pytest.approx([0.8, 0.9, 2.0])
    ring = document["labels"]["1"]
    assert ring["betti_gt"] == [1, 1, 0] and ring["betti_pred"] == [1, 0, 0]
    assert ring["betti_number_error"] == [0, 1, 0]
    assert ring["betti_matching_error"] == ([0, 1, 0] if _has_reference() else None)
    assert ring["hd95"] == pytest.approx(float(metrics.hd95(pred == 1, gt == 1, spacing=(0.8, 0.9, 2.0))))
    assert document["labels"]["4"]["dice"] == 1.0


def test_table_output_default_labels_and_spacing_override(pair, capsys):
    pred_path, gt_path, _, _ = pair
    assert main(["metrics", pred_path, gt_path, "--spacing", "1,1,1", "--connectivity", "full"]) == 0
    out = capsys.readouterr().out
    assert "spacing (1.0, 1.0, 1.0)" in out and "connectivity full" in out
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["label", "dice", "hd95"]
    assert [line.split()[0] for line in lines[2:]] == ["1", "4"]


def test_empty_prediction_reports_inf_as_null(tmp_path, capsys):
    gt = np.zeros((5, 6, 7), dtype=np.uint8)
    gt[1:4, 2:5, 2:6] = 1
    empty = _write(tmp_path / "empty.nii.gz", np.zeros_like(gt))
    assert main(["metrics", empty, _write(tmp_path / "gt.nii.gz", gt), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["labels"]["1"]
    assert row["hd95"] is None and row["empty_pred"] is True and row["dice"] == 0.0
    assert row["betti_matching_error"] == ([1, 0, 0] if _has_reference() else None)


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda p, g, t: [p, str(t / "missing.nii.gz")], "file not found"),
        (lambda p, g, t: [p, _write(t / "small.nii.gz", np.zeros((9, 10, 6), np.uint8))], "PRED and GT must have the same shape"),
        (lambda p, g, t: [p, g, "--spacing", "1,1"], "--spacing must be 3 positive numbers"),
        (lambda p, g, t: [p, g, "--labels", "one"], "--labels must be comma-separated numbers"),
        (lambda p, g, t: [p, str(t)], "file not found"),
        (lambda p, g, t: [p, _write(t / "float.nii.gz", np.full((9, 10, 7), 0.5, np.float32))], "must hold integer labels"),
    ],
)
def test_bad_input_exits_1(pair, tmp_path, capsys, make_args, message):
    pred_path, gt_path, _, _ = pair
    assert main(["metrics", *make_args(pred_path, gt_path, tmp_path)]) == 1
    assert message in capsys.readouterr().err


def test_dicom_seg_inputs(tmp_path, capsys):
    highdicom = pytest.importorskip("highdicom")
    import pydicom

    from medpipe.synthetic.dicom import write_dicom_series

    sources = [pydicom.dcmread(p) for p in write_dicom_series(tmp_path / "ct", np.zeros((6, 7, 5), np.float32), np.diag([0.8, 0.9, 2.0, 1.0]))]
    shape = (len(sources), sources[0].Rows, sources[0].Columns)
    category = highdicom.sr.CodedConcept("91723000", "SCT", "Anatomical Structure")
    tissue = highdicom.sr.CodedConcept("85756007", "SCT", "Tissue")

    def write_seg(name, labels):
        description = highdicom.seg.SegmentDescription(
            segment_number=1, segment_label="lesion", segmented_property_category=category,
            segmented_property_type=tissue, algorithm_type=highdicom.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        seg = highdicom.seg.Segmentation(
            source_images=sources, pixel_array=labels, segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=[description], series_instance_uid=highdicom.UID(), series_number=2,
            sop_instance_uid=highdicom.UID(), instance_number=1, manufacturer="medpipe",
            manufacturer_model_name="test", software_versions="0", device_serial_number="0",
        )
        seg.save_as(tmp_path / name)
        return str(tmp_path / name)

    gt = np.zeros(shape, np.uint8)
    gt[1:4, 2:5, 1:4] = 1
    pred = np.zeros(shape, np.uint8)
    pred[2:5, 2:5, 1:4] = 1  # covers other frames than gt: the command aligns the two
    assert main(["metrics", write_seg("pred.dcm", pred), write_seg("gt.dcm", gt), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["labels"]["1"]
    assert row["dice"] == pytest.approx(2 * 18 / 54)
