"""The README's main job: ``medpipe demo OUTPUT``.

It writes medpipe's synthetic phantoms in every folder layout the readers and the batch runner
understand, then runs every bundle that is installed over them with ``medpipe run`` and links the
per-bundle reports from one ``OUTPUT/index.html``.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Small enough that the whole demo stays within minutes on 2 CPU cores.
BRAIN_SHAPE = (96, 96, 64)
BRAIN_SPACING = (2.5, 2.5, 2.42)
CT_SHAPE = (96, 80, 64)
KSPACE_SHAPE = (64, 56)


@dataclass
class DemoItem:
    """One thing the demo wrote: what it is, where, and a one-line description."""

    kind: str
    path: Path
    description: str
    details: dict = field(default_factory=dict)


def _describe_labels(label: np.ndarray, spacing: tuple[float, ...]) -> dict:
    voxel_ml = float(np.prod(spacing)) / 1000.0
    values, counts = np.unique(label, return_counts=True)
    return {int(v): round(int(c) * voxel_ml, 2) for v, c in zip(values, counts) if v != 0}


def write_demo_scans(output: Path, *, seed: int = 0) -> list[DemoItem]:
    """Write every synthetic phantom in every supported layout under ``output / "scans"``.

    ``scans/brain`` is one mixed folder, the way studies arrive from a PACS export or a study
    collection: BraTS case folders, an nnU-Net-named case, a DICOM study with one series per
    modality plus a localizer, and one deliberately broken case (FLAIR missing) that a batch run
    must report as failed. ``scans/kspace`` holds fastMRI-layout HDF5 files; ``scans/other`` holds
    the phantoms no bundle consumes yet (CT, registration pair, vessel tree).

    Args:
        output: the demo folder; created if missing.
        seed: base seed; each case adds its own offset so cases differ but runs repeat exactly.

    Returns:
        One ``DemoItem`` per case or file written.
    """
    from medpipe import synthetic

    scans = output / "scans"
    brain = scans / "brain"
    items: list[DemoItem] = []

    for i in range(2):
        case_id = f"demo_brats_{i:03d}"
        phantom = synthetic.brain_phantom(BRAIN_SHAPE, BRAIN_SPACING, seed=seed + i)
        synthetic.write_brats_case(brain, case_id, phantom)
        items.append(
            DemoItem(
                "BraTS case",
                brain / case_id,
                "T1, T1ce, T2, FLAIR + BraTS labels (1 necrotic, 2 oedema, 4 enhancing)",
                {"shape": list(BRAIN_SHAPE), "label_volumes_ml": _describe_labels(phantom.label, BRAIN_SPACING)},
            )
        )

    phantom = synthetic.brain_phantom(BRAIN_SHAPE, BRAIN_SPACING, seed=seed + 10)
    synthetic.write_nnunet_case(brain / "nnunet", "demo_nnunet_000", phantom)
    items.append(DemoItem("nnU-Net case", brain / "nnunet", "<case>_0000..0003.nii.gz (t1, t1ce, t2, flair)"))

    phantom = synthetic.brain_phantom(BRAIN_SHAPE, BRAIN_SPACING, seed=seed + 20)
    synthetic.write_dicom_study(brain, "demo_study_000", phantom, localizer=True)
    items.append(DemoItem("DICOM study", brain / "demo_study_000", "one MR series per modality + a localizer"))

    broken_id = "demo_broken_000"
    phantom = synthetic.brain_phantom(BRAIN_SHAPE, BRAIN_SPACING, seed=seed + 30)
    synthetic.write_brats_case(brain, broken_id, phantom)
    for path in (brain / broken_id).glob("*_flair.nii.gz"):
        path.unlink()
    items.append(DemoItem("broken case", brain / broken_id, "FLAIR missing on purpose: a batch run reports it failed"))

    kspace_root = scans / "kspace"
    kspace_root.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        k = synthetic.kspace_phantom(KSPACE_SHAPE, 8, num_slices=2, seed=seed + 40 + i)
        path = kspace_root / f"demo_kspace_{i:03d}.h5"
        synthetic.write_fastmri_h5(path, k)
        items.append(
            DemoItem("fastMRI k-space", path, "8-coil fully sampled k-space + RSS reference", {"kspace_shape": list(k.kspace.shape)})
        )

    other = scans / "other"
    other.mkdir(parents=True, exist_ok=True)
    ct = synthetic.abdomen_ct_phantom(CT_SHAPE, seed=seed + 50)
    ct_path = other / "demo_ct_000.nii.gz"
    synthetic.write_nifti(ct_path, ct.image, ct.affine)
    synthetic.write_nifti(other / "demo_ct_000_label.nii.gz", ct.label, ct.affine)
    ct_spacing = tuple(float(s) for s in np.linalg.norm(ct.affine[:3, :3], axis=0))
    items.append(
        DemoItem(
            "abdominal CT",
            ct_path,
            "HU image + 8 BTCV organs (1, 2, 3, 4, 6, 7, 8, 11)",
            {"shape": list(ct.image.shape), "label_volumes_ml": _describe_labels(ct.label, ct_spacing)},
        )
    )
    ct_dicom = other / "demo_ct_000_dicom"
    synthetic.write_dicom_series(ct_dicom, ct.image, ct.affine, modality="CT", series_description="abdomen CT")
    items.append(DemoItem("CT DICOM series", ct_dicom, "the same CT as CT Image Storage instances"))

    pair = synthetic.registration_pair(seed=seed + 60)
    reg_root = other / "demo_pair_000"
    reg_root.mkdir(parents=True, exist_ok=True)
    eye = np.eye(4)
    for name, array in [
        ("moving", pair.moving),
        ("fixed", pair.fixed),
        ("moving_label", pair.moving_label),
        ("fixed_label", pair.fixed_label),
    ]:
        synthetic.write_nifti(reg_root / f"{name}.nii.gz", array, eye)
    np.save(reg_root / "ddf.npy", pair.ddf)
    items.append(
        DemoItem("registration pair", reg_root, "moving/fixed with known smooth deformation", {"volume_ratio": float(pair.volume_ratio)})
    )

    tree = synthetic.vessel_tree(seed=seed + 70)
    tree_path = other / "demo_tree_000.nii.gz"
    synthetic.write_nifti(tree_path, tree.mask.astype(np.uint8), eye)
    items.append(DemoItem("vessel tree", tree_path, "tubular tree with known Betti numbers", {"betti": list(tree.betti)}))
    return items


def _write_index(output: Path, items: list[DemoItem], reports: dict[str, tuple[str, Path | None]]) -> Path:
    rows = "".join(
        f"<tr><td>{html.escape(i.kind)}</td><td><code>{html.escape(str(i.path.relative_to(output)))}</code></td>"
        f"<td>{html.escape(i.description)}</td></tr>"
        for i in items
    )
    bundle_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(status)}</td><td>"
        + (f'<a href="{html.escape(str(p.relative_to(output)))}">report</a>' if p else "")
        + "</td></tr>"
        for name, (status, p) in reports.items()
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>medpipe demo</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd}</style>"
        "</head><body><h1>medpipe demo</h1><h2>Synthetic scans</h2>"
        f"<table><tr><th>kind</th><th>path</th><th>what</th></tr>{rows}</table>"
        "<h2>Bundles</h2>"
        + (
            f"<table><tr><th>bundle</th><th>status</th><th></th></tr>{bundle_rows}</table>"
            if reports
            else "<p>No bundle was run.</p>"
        )
        + "</body></html>"
    )
    index = output / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def run_demo(output: str | Path, *, seed: int = 0, run_bundles: bool = True, progress: bool = True) -> Path:
    """Write the demo scans, run every available bundle over them, and write ``index.html``.

    Args:
        output: the demo folder.
        seed: base seed for the phantoms.
        run_bundles: run every bundle that ships weights over the scans with ``medpipe run``.
        progress: show progress bars (they are quiet anyway when not on a terminal).

    Returns:
        The path of ``OUTPUT/index.html``.
    """
    output = Path(output).resolve()  # the batch runner reports absolute paths
    output.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    items = write_demo_scans(output, seed=seed)
    print(f"wrote {len(items)} synthetic scan sets under {output / 'scans'}")
    for item in items:
        extra = f"  {json.dumps(item.details)}" if item.details else ""
        print(f"  {item.kind:<20} {item.path.relative_to(output)}{extra}")
    reports: dict[str, tuple[str, Path | None]] = {}
    if run_bundles:
        reports = _run_bundles(output, progress=progress)
        if reports:
            print("note: scans/brain/demo_broken_000 lacks its FLAIR on purpose; the segmentation run reports it as failed")
    summary = {
        "seconds": round(time.perf_counter() - start, 2),
        "scans": [{"kind": i.kind, "path": str(i.path.relative_to(output)), **i.details} for i in items],
        "bundles": {k: {"status": s, "report": str(p.relative_to(output)) if p else None} for k, (s, p) in reports.items()},
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    index = _write_index(output, items, reports)
    print(f"demo finished in {summary['seconds']:.1f} s; open {index.resolve()}")
    return index


def _run_bundles(output: Path, *, progress: bool = True) -> dict[str, tuple[str, Path | None]]:
    """Run every bundle that ships weights through the batch runner (``medpipe run``).

    Segmentation bundles read ``scans/brain``, reconstruction bundles ``scans/kspace``. A bundle
    whose run fails as a whole is reported in the index, and the demo goes on.
    """
    from medpipe.batch.runner import RunOptions, run_batch
    from medpipe.bundles import list_bundles

    reports: dict[str, tuple[str, Path | None]] = {}
    for info in list_bundles():
        if not (info.path / "models" / "model.pt").is_file():
            reports[info.name] = ("no shipped weights", None)
            print(f"skipping {info.name}: it ships no weights")
            continue
        source = output / "scans" / ("kspace" if "reconstruction" in info.name else "brain")
        target = output / "runs" / info.name
        print(f"running {info.name} on {source.relative_to(output)}")
        try:
            summary = run_batch(RunOptions(bundle=str(info.path), input=str(source), output=str(target), progress=progress))
        except (ValueError, ImportError, RuntimeError) as err:
            reports[info.name] = (f"run failed: {err}", None)
            print(f"  run failed: {err}")
            continue
        counts = {status: sum(r.status == status for r in summary.rows) for status in ("ok", "skipped", "failed")}
        status = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        reports[info.name] = (status, summary.report)
        print(f"  {status}; report: {summary.report}")
    return reports
