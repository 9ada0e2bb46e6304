"""Execute the research notebooks (nbclient) on a small run; any cell error fails the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
SEGMENTATION_BUNDLE = "brats_mri_revunet_segmentation"


def _execute(name: str, cwd: Path, env: dict[str, str]) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    """Two small BraTS phantoms run through ``medpipe run`` with the shipped weights."""
    from medpipe.batch.runner import RunOptions, run_batch
    from medpipe.bundles import resolve_bundle
    from medpipe.synthetic import brain_phantom, write_brats_case

    bundle = resolve_bundle(SEGMENTATION_BUNDLE)
    if not (bundle / "models" / "model.pt").is_file():
        pytest.skip(f"{SEGMENTATION_BUNDLE} ships no weights yet")
    root = tmp_path_factory.mktemp("notebook_run")
    scans, run = root / "scans", root / "run"
    for seed in (101, 102):
        write_brats_case(scans, f"nb_case_{seed}", brain_phantom((64, 64, 48), (3.0, 3.0, 3.0), seed=seed))
    summary = run_batch(RunOptions(bundle=SEGMENTATION_BUNDLE, input=str(scans), output=str(run), progress=False))
    assert summary.exit_code == 0
    return root


def test_evaluate_segmentation_notebook(segmentation_run):
    _execute(
        "evaluate_segmentation.ipynb",
        segmentation_run,
        {"MEDPIPE_RUN_DIR": str(segmentation_run / "run"), "MEDPIPE_SCANS_DIR": str(segmentation_run / "scans")},
    )


def test_compare_reconstruction_notebook(tmp_path):
    _execute("compare_reconstruction.ipynb", tmp_path, {"MEDPIPE_ACCELERATIONS": "4", "MEDPIPE_NUM_PHANTOMS": "1"})


def test_registration_qc_notebook(tmp_path):
    # no demo output in tmp_path: the notebook makes its own synthetic pair
    _execute("registration_qc.ipynb", tmp_path, {"MEDPIPE_PAIR_DIR": str(tmp_path / "missing")})
    assert (tmp_path / "registration_qc_pair" / "ddf.npy").is_file()
