"""`medpipe run` and `medpipe report` from the command line: exit codes, dry run, kill-and-resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medpipe.batch.manifest import read_manifest
from medpipe.batch.resume import RECORD_NAME
from medpipe.cli import main
from tests.batch._data import write_brats_like, write_tiny_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_tiny_bundle(tmp_path_factory.mktemp("cli_bundle"))


@pytest.fixture()
def scans(tmp_path):
    write_brats_like(tmp_path / "scans", "A", seed=1)
    write_brats_like(tmp_path / "scans", "B", seed=2, names=("t1", "t1ce", None, "flair"))
    return tmp_path / "scans"


def test_run_exit_code_2_and_report(bundle, scans, tmp_path, capsys):
    code = main(["run", str(bundle), str(scans), str(tmp_path / "out"), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 2
    assert "1 ok, 0 skipped, 1 failed" in captured.out and "failed B: missing input(s) t2" in captured.err
    assert (tmp_path / "out" / "report.html").is_file()
    assert main(["run", str(bundle), str(scans), str(tmp_path / "out"), "--no-progress"]) == 2
    assert "0 ok, 1 skipped, 1 failed" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "out")]) == 0
    assert "2 case(s), 1 failed" in capsys.readouterr().out


def test_all_ok_exits_0(bundle, scans, tmp_path):
    (scans / "B").rename(tmp_path / "B_elsewhere")
    assert main(["run", str(bundle), str(scans), str(tmp_path / "out"), "--no-progress"]) == 0


def test_dry_run_writes_nothing(bundle, scans, tmp_path, capsys):
    assert main(["run", str(bundle), str(scans), str(tmp_path / "out"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "A: run (no finished outputs)" in out and "B: fail (missing input(s) t2; found t1, t1ce, flair)" in out
    assert "t1ce: " + str(scans / "A" / "A_t1ce.nii.gz") in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--part-id", "1"], "`--part-id` and `--num-parts` must be given together"),
        (["--part-id", "2", "--num-parts", "2"], "must be in [0, 2)"),
        (["--scheduler", "tcp://127.0.0.1:1", "--dask-workers", "2"], "must not be combined"),
        (["--series-map", "absent.json"], "`--series-map` must be an existing JSON file"),
    ],
)
def test_usage_errors_exit_1(bundle, scans, tmp_path, capsys, extra, message):
    assert main(["run", str(bundle), str(scans), str(tmp_path / "out"), *extra]) == 1
    assert message in capsys.readouterr().err


def test_unknown_bundle_and_input_exit_1(bundle, tmp_path, capsys):
    assert main(["run", "no_such_bundle", str(tmp_path), str(tmp_path / "out")]) == 1
    assert "`bundle` must be a bundle name" in capsys.readouterr().err
    assert main(["run", str(bundle), str(tmp_path / "absent"), str(tmp_path / "out")]) == 1
    assert "`input` must be an existing folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(bundle), str(tmp_path), str(tmp_path / "out"), "--dask-workers", "two"])
    assert exit_info.value.code == 1


def test_report_without_manifest_exits_1(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "must hold manifest.csv" in capsys.readouterr().err


def test_a_bundle_that_cannot_load_is_a_usage_error(tmp_path, scans, capsys):
    broken = write_tiny_bundle(tmp_path / "b")
    (broken / "models" / "model.pt").write_bytes(b"not a checkpoint")
    assert main(["run", str(broken), str(scans), str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "`bundle` tiny_brats_segmentation must load, got" in err and len(err.strip().splitlines()) == 1


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(tmp_path):
    """Kill the run (SIGKILL) once the first case's outputs appear; the rerun finishes only the rest."""
    from medpipe.synthetic import brain_phantom, write_nifti

    bundle = write_tiny_bundle(tmp_path / "bundle")
    scans = tmp_path / "scans"
    cases = [f"case{i}" for i in range(6)]
    for seed, case_id in enumerate(cases):
        phantom = brain_phantom((64, 60, 52), (3.0, 3.0, 3.0), seed=seed)
        for modality, image in phantom.images.items():
            write_nifti(scans / case_id / f"{case_id}_{modality}.nii.gz", image, phantom.affine)
    command = [sys.executable, "-c", "import sys; from medpipe.cli import main; sys.exit(main())", "run", str(bundle), str(scans)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    reference = subprocess.run(command + [str(tmp_path / "reference"), "--no-progress"], env=env, capture_output=True, timeout=600)
    assert reference.returncode == 0, reference.stderr[-2000:]

    killed = tmp_path / "killed"
    process = subprocess.Popen(command + [str(killed), "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (killed / cases[0] / RECORD_NAME).exists():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first case appeared"
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = {c for c in cases if (killed / c / RECORD_NAME).exists()}
    assert cases[0] in finished and len(finished) < len(cases), f"kill came too late: {sorted(finished)}"

    rerun = subprocess.run(command + [str(killed), "--no-progress"], env=env, capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    rows = {r.case_id: r for r in read_manifest(killed / "manifest.csv")}
    expected = {r.case_id: r for r in read_manifest(tmp_path / "reference" / "manifest.csv")}
    assert set(rows) == set(expected) == set(cases)
    assert {c for c, r in rows.items() if r.status == "skipped"} == finished, "only unfinished cases may be recomputed"
    for case_id, row in rows.items():
        assert row.outputs == expected[case_id].outputs
        assert row.status in ("ok", "skipped") and expected[case_id].status == "ok"
        reference_files = sorted(p.name for p in (tmp_path / "reference" / case_id).iterdir())
        assert sorted(p.name for p in (killed / case_id).iterdir()) == reference_files
        for name in reference_files:
            assert (killed / case_id / name).read_bytes() == (tmp_path / "reference" / case_id / name).read_bytes(), (case_id, name)
    assert list((killed / ".tmp").iterdir()) == [], "the rerun must clear the killed run's temporary folder"
