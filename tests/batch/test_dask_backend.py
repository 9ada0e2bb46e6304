"""Dask: a LocalCluster of 2 worker processes gives the same manifest and outputs as one process."""

import sys

import pytest
from tests.batch._data import write_brats_like

from medpipe.batch.dask_backend import run_on_dask
from medpipe.batch.manifest import read_manifest
from medpipe.batch.runner import RunOptions, run_batch


def test_scheduler_or_workers_must_be_given():
    with pytest.raises(ValueError, match="exactly one of `scheduler` and `workers` must be given"):
        run_on_dask([], None, print)
    with pytest.raises(ValueError, match="exactly one of `scheduler` and `workers` must be given"):
        run_on_dask([], None, print, scheduler="tcp://127.0.0.1:1", workers=2)


def test_missing_dask_has_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'medpipe\[dist\]'"):
        run_on_dask([], None, print, workers=1)


def test_local_cluster_with_two_workers_equals_one_process(tiny_bundle, tmp_path):
    from tests.batch.test_runner import make_mixed_folder

    root = make_mixed_folder(tmp_path / "scans")
    write_brats_like(root / "brats", "BraTS_003", seed=3)
    serial = run_batch(RunOptions(str(tiny_bundle), str(root), str(tmp_path / "serial"), progress=False))
    dask = run_batch(RunOptions(str(tiny_bundle), str(root), str(tmp_path / "dask"), dask_workers=2, progress=False))

    def strip(rows):
        return [(r.case_id, r.status, r.message, r.outputs) for r in rows]

    assert strip(dask.rows) == strip(serial.rows) == strip(read_manifest(tmp_path / "dask" / "manifest.csv"))
    assert dask.exit_code == serial.exit_code == 2
    for row in serial.rows:
        for output in row.outputs:
            assert (tmp_path / "dask" / output).read_bytes() == (tmp_path / "serial" / output).read_bytes(), output
    again = run_batch(RunOptions(str(tiny_bundle), str(root), str(tmp_path / "dask"), dask_workers=2, progress=False))
    assert {r.case_id for r in again.rows if r.status == "skipped" and r.message == "up to date"} == {
        r.case_id for r in serial.rows if r.status == "ok"}
