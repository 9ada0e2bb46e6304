"""Resume hashes: input bytes, bundle digest and settings all count; records make cases skippable."""

import json

from medpipe.batch.resume import RECORD_NAME, case_hash, is_up_to_date, read_record


def test_case_hash_depends_on_bytes_bundle_and_settings(tmp_path):
    a = tmp_path / "a.nii.gz"
    a.write_bytes(b"abc")
    base = case_hash([str(a)], "bundle1", {"x": 1})
    assert case_hash([str(a)], "bundle1", {"x": 1}) == base
    assert case_hash([str(a)], "bundle2", {"x": 1}) != base
    assert case_hash([str(a)], "bundle1", {"x": 2}) != base
    a.write_bytes(b"abd")  # same size; mtime may even be equal: the bytes decide
    assert case_hash([str(a)], "bundle1", {"x": 1}) != base


def test_case_hash_ignores_the_folder_a_file_was_copied_to(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    for folder in ("one", "two"):
        (tmp_path / folder / "t1.nii.gz").write_bytes(b"same")
    assert case_hash([str(tmp_path / "one" / "t1.nii.gz")], "b", {}) == case_hash([str(tmp_path / "two" / "t1.nii.gz")], "b", {})


def test_is_up_to_date_reasons(tmp_path):
    case = tmp_path / "c1"
    assert is_up_to_date(case, "h") == (False, "no finished outputs")
    case.mkdir()
    (case / "pred.nii.gz").write_bytes(b"p")
    (case / RECORD_NAME).write_text(json.dumps({"hash": "h", "outputs": ["c1/pred.nii.gz"]}))
    assert read_record(case)["hash"] == "h"
    assert is_up_to_date(case, "h") == (True, "up to date")
    assert is_up_to_date(case, "other") == (False, "inputs, bundle or settings changed")
    (case / "pred.nii.gz").unlink()
    assert is_up_to_date(case, "h") == (False, "output c1/pred.nii.gz is missing")
    (case / RECORD_NAME).write_text("{broken")
    assert read_record(case) is None
