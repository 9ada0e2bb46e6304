"""Manifest rows: exact columns, append-as-you-go, merging disjoint shard parts."""

import pytest

from medpipe.batch.manifest import COLUMNS, ManifestWriter, Row, merge_manifests, part_name, read_manifest, write_manifest


def test_columns_are_exactly_the_contract(tmp_path):
    writer = ManifestWriter(tmp_path / "manifest.csv")
    writer.add(Row("b", "failed", "reading: bad\nfile", 1.5))
    writer.add(Row("a", "ok", "", 2.25, ("a/pred.nii.gz", "a/qc.png")))
    assert (tmp_path / "manifest.csv").read_text().splitlines()[0] == "case_id,status,message,duration_s,outputs"
    rows = writer.close()
    assert [r.case_id for r in rows] == ["a", "b"]
    assert COLUMNS == ("case_id", "status", "message", "duration_s", "outputs")
    back = read_manifest(tmp_path / "manifest.csv")
    assert back[0] == Row("a", "ok", "", 2.25, ("a/pred.nii.gz", "a/qc.png"))
    assert back[1].message == "reading: bad file"


def test_a_row_cut_short_by_a_kill_is_ignored(tmp_path):
    path = tmp_path / "manifest.csv"
    write_manifest(path, [Row("a", "ok", "", 1.0)])
    with open(path, "a") as handle:
        handle.write("b,ok")
    assert [r.case_id for r in read_manifest(path)] == ["a"]


def test_merge_parts(tmp_path):
    write_manifest(tmp_path / part_name(0, 2), [Row("a", "ok", "", 1.0), Row("c", "failed", "x", 0.1)])
    write_manifest(tmp_path / part_name(1, 2), [Row("b", "skipped", "up to date", 0.0)])
    assert [r.case_id for r in merge_manifests(tmp_path)] == ["a", "b", "c"]


def test_merge_errors(tmp_path):
    with pytest.raises(ValueError, match="`output` must hold manifest.csv or manifest.part-K-of-N.csv"):
        merge_manifests(tmp_path)
    write_manifest(tmp_path / part_name(0, 2), [Row("a", "ok", "", 1.0)])
    write_manifest(tmp_path / part_name(1, 2), [Row("a", "ok", "", 1.0)])
    with pytest.raises(ValueError, match="case 'a' must be in one part only"):
        merge_manifests(tmp_path)
    write_manifest(tmp_path / part_name(1, 3), [Row("z", "ok", "", 1.0)])
    with pytest.raises(ValueError, match="must share one number of parts"):
        merge_manifests(tmp_path)


def test_read_manifest_errors(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("case,status\n")
    with pytest.raises(ValueError, match="must start with the header case_id,status,message,duration_s,outputs"):
        read_manifest(path)
    path.write_text("case_id,status,message,duration_s,outputs\na,done,,1.0,\n")
    with pytest.raises(ValueError, match="`status` in .* must be one of"):
        read_manifest(path)
