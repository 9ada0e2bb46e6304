import json

import pytest

from medpipe import cli


def test_demo_writes_every_layout_and_an_index(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli.main(["demo", str(out), "--no-bundles"]) == 0
    printed = capsys.readouterr().out
    assert str((out / "index.html").resolve()) in printed
    summary = json.loads((out / "summary.json").read_text())
    kinds = {s["kind"] for s in summary["scans"]}
    assert {"BraTS case", "nnU-Net case", "DICOM study", "abdominal CT", "fastMRI k-space",
            "registration pair", "vessel tree"} <= kinds
    case = out / "scans" / "brain" / "demo_brats_000"
    assert sorted(p.name for p in case.iterdir()) == [
        f"demo_brats_000_{m}.nii.gz" for m in ["flair", "seg", "t1", "t1ce", "t2"]
    ]
    assert len(list((out / "scans" / "brain" / "dicom" / "demo_study_000").iterdir())) == 5  # 4 modalities + localizer
    assert not list((out / "scans" / "brain" / "demo_broken_000").glob("*flair*"))
    assert "vessel tree" in (out / "index.html").read_text()


@pytest.mark.slow  # per-phantom determinism is covered in tests/synthetic
def test_demo_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    cli.main(["demo", str(a), "--no-bundles"])
    cli.main(["demo", str(b), "--no-bundles"])
    for rel in ["scans/brain/demo_brats_000/demo_brats_000_t1.nii.gz", "scans/kspace/demo_kspace_000.h5"]:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
