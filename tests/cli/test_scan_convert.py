"""Tests for `medpipe scan` and `medpipe convert` (exit codes, table, NIfTI + sidecars, PHI)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tests.io._dicom_factory import volume, write_series

from medpipe import cli


@pytest.fixture()
def mixed_folder(tmp_path):
    root = tmp_path / "in"
    write_series(root / "good", volume(), description="T1 axial")
    write_series(root / "scout", volume((5, 6, 2)), description="scout", series_number=2,
                 image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    write_series(root / "gap", volume(), description="with gap", series_number=3,
                 positions=[(0, 0, z) for z in (0, 2, 4, 8, 10, 12, 14)])
    return root


def test_scan_table_and_exit_code(mixed_folder, capsys):
    assert cli.main(["scan", str(mixed_folder)]) == 2
    out = capsys.readouterr().out
    assert "status" in out and "reason" in out
    lines = {line.split()[0]: line for line in out.splitlines()[2:] if line and line.split()[0] in
             ("ok", "excluded", "error")}
    assert "T1 axial" in lines["ok"] and "5x6x7" in lines["ok"]
    assert "localizer" in lines["excluded"]
    assert "missing slices" in lines["error"]
    assert "3 found: 1 ok, 1 excluded, 1 error" in out


def test_scan_all_ok_exits_0(tmp_path, capsys):
    write_series(tmp_path, volume())
    assert cli.main(["scan", str(tmp_path)]) == 0


def test_missing_input_is_usage_error(tmp_path, capsys):
    assert cli.main(["scan", str(tmp_path / "nope")]) == 1
    assert "INPUT must be an existing" in capsys.readouterr().err
    assert cli.main(["convert", str(tmp_path / "nope"), str(tmp_path / "out")]) == 1
    assert "INPUT must be an existing" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli.main(["convert", str(tmp_path), str(tmp_path / "file")]) == 1
    assert "OUTPUT must be a folder" in capsys.readouterr().err


def test_convert_writes_nifti_and_sidecar_without_phi(mixed_folder, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["convert", str(mixed_folder), str(out)]) == 2  # the gap series is in error
    image = nib.load(out / "001_T1_axial.nii.gz")
    np.testing.assert_array_equal(np.asanyarray(image.dataobj), volume())
    np.testing.assert_allclose(image.affine, [[-0.5, 0, 0, 10], [0, -0.75, 0, -20], [0, 0, 2, 30], [0, 0, 0, 1]])
    sidecar = json.loads((out / "001_T1_axial.json").read_text())
    assert sidecar["Modality"] == "CT" and sidecar["shape"] == [5, 6, 7] and len(sidecar["affine"]) == 4
    text = (out / "001_T1_axial.json").read_text() + (out / "conversion.json").read_text()
    assert "Test^Patient" not in text and "PID-0001" not in text and "PatientName" not in text
    summary = json.loads((out / "conversion.json").read_text())
    assert sorted(entry["status"] for entry in summary) == ["error", "excluded", "ok"]
    assert sorted(p.name for p in out.glob("*.nii.gz")) == ["001_T1_axial.nii.gz"]


def test_convert_keep_phi(tmp_path):
    write_series(tmp_path / "in", volume(), description="T1")
    assert cli.main(["convert", str(tmp_path / "in"), str(tmp_path / "out"), "--keep-phi"]) == 0
    sidecar = json.loads((tmp_path / "out" / "001_T1.json").read_text())
    assert sidecar["PatientName"] == "Test^Patient" and sidecar["PatientID"] == "PID-0001"


def test_convert_matches_dcm2niix_reference(real_data, tmp_path):
    """`medpipe convert` on the 9 transfer syntaxes agrees with dcm2niix's Ref/ NIfTI."""
    root = real_data / "dicom" / "dcm_qa_ts"
    assert cli.main(["convert", str(root / "In"), str(tmp_path)]) == 0
    written = sorted(tmp_path.glob("*.nii.gz"))
    assert len(written) == len(list((root / "Ref").glob("*.nii"))) == 9
    for path in written:
        number = int(path.name.split("_")[0])
        ours = nib.as_closest_canonical(nib.load(path))
        theirs = nib.as_closest_canonical(nib.load(root / "Ref" / f"{number}.nii"))
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours.affine, theirs.affine, atol=1e-3)
        np.testing.assert_array_equal(ours.get_fdata(), theirs.get_fdata())
