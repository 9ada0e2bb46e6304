import csv
import json

import pytest

from medpipe import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    # a relative OUTPUT, as `make demo` passes it
    base = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(base)
        assert cli.main(["demo", "demo_out", "--no-progress"]) == 0
    return base / "demo_out"


def test_demo_writes_every_layout(demo):
    summary = json.loads((demo / "summary.json").read_text())
    kinds = {s["kind"] for s in summary["scans"]}
    assert {"BraTS case", "nnU-Net case", "DICOM study", "broken case", "abdominal CT", "fastMRI k-space",
            "registration pair", "vessel tree"} <= kinds
    case = demo / "scans" / "brain" / "demo_brats_000"
    assert sorted(p.name for p in case.iterdir()) == [
        f"demo_brats_000_{m}.nii.gz" for m in ["flair", "seg", "t1", "t1ce", "t2"]
    ]
    assert len(list((demo / "scans" / "brain" / "demo_study_000").iterdir())) == 5  # 4 modalities + localizer
    assert not list((demo / "scans" / "brain" / "demo_broken_000").glob("*flair*"))


def test_demo_runs_every_bundle_and_links_the_reports(demo):
    from medpipe.bundles import list_bundles

    summary = json.loads((demo / "summary.json").read_text())
    index = (demo / "index.html").read_text()
    for info in list_bundles():
        entry = summary["bundles"][info.name]
        assert entry["report"], f"{info.name}: {entry['status']}"
        assert (demo / entry["report"]).is_file()
        assert entry["report"] in index
        with open(demo / "runs" / info.name / "manifest.csv") as handle:
            rows = {r["case_id"]: r for r in csv.DictReader(handle)}
        if "segmentation" in info.name:
            # the deliberately broken case fails with its reason; every good layout is processed
            assert rows.pop("demo_broken_000")["status"] == "failed"
            assert set(rows) == {"demo_brats_000", "demo_brats_001", "demo_nnunet_000", "demo_study_000"}
        assert {r["status"] for r in rows.values()} == {"ok"}, rows


def test_demo_without_bundles_only_writes_scans(tmp_path, capsys):
    out = tmp_path / "scans_only"
    assert cli.main(["demo", str(out), "--no-bundles", "--no-progress"]) == 0
    assert str((out / "index.html").resolve()) in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["bundles"] == {}
    assert not (out / "runs").exists()
