"""Everything a finished case leaves behind besides the bundle's own files.

``metrics.json`` (label statistics, agreement with a ground truth when the layout has one, and
whether the prediction is on the input's grid), ``stats.csv`` (one row per label), ``qc.png``
and, with ``--dicom-seg`` on DICOM input, ``seg.dcm``. None of these holds a timestamp or a
timing, so an interrupted-and-resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from medpipe.batch.qc import save_overlay_png, save_side_by_side_png
from medpipe.batch.stats import label_masks, label_statistics

__all__ = ["prediction_array", "write_case_outputs"]

_NIFTI = re.compile(r"\.nii(\.gz)?$", re.IGNORECASE)


def prediction_array(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a written prediction as ``(array, affine)``; a 4-D NIfTI comes back channel first."""
    import nibabel as nib

    image = nib.load(str(path))
    array = np.asanyarray(image.dataobj)
    if array.ndim == 5 and array.shape[3] == 1:
        array = array[:, :, :, 0, :]
    if array.ndim == 4:
        array = np.moveaxis(array, -1, 0)
    return array, image.affine


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _read_images(staged: dict[str, Path], shape: tuple[int, ...]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    import nibabel as nib

    images, affine = {}, None
    for channel, path in staged.items():
        if not _NIFTI.search(str(path)):
            continue
        image = nib.load(str(path))
        if affine is None:
            affine = image.affine
        if tuple(image.shape[:3]) == tuple(shape):
            images[channel] = np.asanyarray(image.dataobj, dtype=np.float32).reshape(shape)
    return images, affine


def _segmentation(case, config, staged, prediction: Path, case_dir: Path) -> dict:
    array, affine = prediction_array(prediction)
    spatial = array.shape[-3:]
    masks = label_masks(array, config.spec.output_channels)
    images, input_affine = _read_images(staged, spatial)
    rows = label_statistics(masks, affine, images)
    report = {
        "prediction": prediction.name,
        "shape": list(spatial),
        "geometry_matches_input": bool(input_affine is not None and len(images) == len(staged)
                                       and np.allclose(affine, input_affine, atol=1e-4)),
        "labels": rows,
        "ground_truth": None,
    }
    if case.label and array.ndim == 3:
        import nibabel as nib

        from medpipe.metrics.segmentation import dice, hd95

        truth = np.asanyarray(nib.load(case.label).dataobj).astype(np.int64)
        if truth.shape == array.shape:
            values = sorted(({int(v) for v in np.unique(truth)} | {int(v) for v in np.unique(array)}) - {0})
            spacing = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
            report["ground_truth"] = {
                "file": Path(case.label).name,
                "dice": {str(k): float(v) for k, v in dice(array, truth, labels=values).items()},
                "hd95_mm": {str(k): _finite(float(v)) for k, v in hd95(array, truth, labels=values, spacing=spacing).items()},
            }
        else:
            report["ground_truth"] = {"file": Path(case.label).name, "error": f"shape {truth.shape} differs from prediction {array.shape}"}
    if rows:
        with open(case_dir / "stats.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    codes = np.zeros(spatial, dtype=np.int64)
    for rank, mask in enumerate(masks.values()):
        codes[mask] = rank + 1
    background = images.get("flair", next(iter(images.values()), None))
    if background is None:
        background = codes.astype(np.float32)
    save_overlay_png(case_dir / "qc.png", background, codes)
    total = sum(r["volume_ml"] for r in rows)
    border = [r["label"] for r in rows if r["touches_border"]]
    report["summary"] = f"{len(rows)} label(s), {total:.2f} mL" + (f"; touching border: {', '.join(border)}" if border else "")
    return report


def _rss_of_inverse_fft(kspace: np.ndarray) -> np.ndarray:
    """Root sum of squares over coils (axis 1) of the centred orthonormal inverse 2-D FFT.

    Args:
        kspace: complex ``(S, C, H, W)``.

    Returns:
        float ``(S, H, W)``.
    """
    axes = (-2, -1)
    images = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=axes), axes=axes, norm="ortho"), axes=axes)
    return np.sqrt((np.abs(images) ** 2).sum(axis=1))


def _input_panel(case, bundle_output) -> tuple[str, np.ndarray]:
    """The zero-filled image of what the network saw.

    medpipe's recon bundles hand the network undersampled k-space as real channels (real parts,
    then imaginary parts: ``image`` float ``(2C, H, W, S)``, DESIGN.md); when the bundle output
    holds that, it is turned back into complex ``(S, C, H, W)``. Otherwise the file's k-space is
    used (with the file's mask when it has one).
    """
    image = bundle_output.get("image") if isinstance(bundle_output, dict) else None
    if image is not None:
        array = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
        if array.ndim == 4 and array.shape[0] % 2 == 0 and not np.iscomplexobj(array):
            coils = array.shape[0] // 2
            kspace = (array[:coils] + 1j * array[coils:]).transpose(3, 0, 1, 2)
            rss = _rss_of_inverse_fft(kspace)
            return "zero-filled", rss[rss.shape[0] // 2]
    from medpipe.io.kspace import read_fastmri_h5

    data = read_fastmri_h5(next(iter(case.inputs.values()))[0])
    kspace = np.asarray(data["kspace"])
    title = "fully sampled (RSS)"
    if data.get("mask") is not None:
        kspace = kspace * np.asarray(data["mask"]).reshape((1,) * (kspace.ndim - 1) + (-1,))
        title = "zero-filled"
    rss = _rss_of_inverse_fft(kspace)
    return title, rss[rss.shape[0] // 2]


def _reconstruction(case, prediction: Path, case_dir: Path, bundle_output) -> dict:
    array, _ = prediction_array(prediction)
    image = np.squeeze(np.abs(array))
    slices = None
    while image.ndim > 2:
        axis = int(np.argmin(image.shape))
        slices = image.shape[axis]
        image = np.take(image, slices // 2, axis=axis)
    panels = {"reconstruction": image}
    source = next(iter(case.inputs.values()))[0]
    if source.endswith((".h5", ".hdf5")):
        title, reference = _input_panel(case, bundle_output)
        if reference.shape == image.shape:
            panels[title] = reference
    save_side_by_side_png(case_dir / "qc.png", panels)
    stats = {"min": float(array.min()), "max": float(array.max()), "mean": float(np.mean(array))}
    return {"prediction": prediction.name, "shape": list(array.shape), "image": stats, "qc_panels": list(panels),
            "summary": f"image {'x'.join(map(str, array.shape))}"}


def _dicom_seg(case, config, prediction: Path, case_dir: Path) -> str:
    """DICOM-SEG referencing the source series of the first input (all inputs share its grid)."""
    from medpipe.io import write_dicom_seg

    array, _ = prediction_array(prediction)
    if array.ndim != 3:
        raise ValueError(f"DICOM-SEG needs an integer label map (X, Y, Z), got prediction shape {array.shape}")
    labels = {int(v) for v in np.unique(array)} - {0}
    if not labels:
        return ""  # an empty label map has no segment to write; metrics.json says so
    names = config.spec.output_channels
    table = {v: {"name": names.get(v, f"label {v}")} for v in sorted(labels)}
    source = next(iter(case.inputs.values()))
    target = case_dir / "seg.dcm"
    write_dicom_seg(target, array.astype(np.int64), list(source), label_table=table,
                    series_description=f"medpipe {config.spec.name}")
    return target.name


def write_case_outputs(case, config, staged: dict[str, Path], bundle_files: list[Path], case_dir: Path,
                       bundle_output: dict | None = None, scrub=str) -> list[str]:
    """Move the bundle's files into ``case_dir`` and write metrics, statistics and QC beside them.

    Args:
        case: the :class:`~medpipe.batch.discovery.Case`.
        config: the run's :class:`~medpipe.batch.process.RunConfig`.
        staged: input name -> NIfTI/HDF5 path the bundle read.
        bundle_files: what the bundle's postprocessing wrote.
        case_dir: the case's (temporary) output folder.
        bundle_output: the post-processed dataset item (a reconstruction QC reads its ``image``).
        scrub: hides patient identifiers in text copied from DICOM headers (series descriptions).

    Returns:
        File names inside ``case_dir``, sorted.

    Raises:
        ValueError: when the bundle wrote no NIfTI prediction.
    """
    moved = []
    for path in bundle_files:
        target = case_dir / Path(path).name
        os.replace(path, target)
        moved.append(target)
    predictions = [p for p in moved if _NIFTI.search(p.name)]
    if not predictions:
        raise ValueError(f"the bundle output must include a NIfTI file, got {[p.name for p in moved]}")
    if config.spec.task == "reconstruction":
        report = _reconstruction(case, predictions[0], case_dir, bundle_output)
    else:
        report = _segmentation(case, config, staged, predictions[0], case_dir)
        if config.dicom_seg and case.layout == "dicom":
            report["dicom_seg"] = _dicom_seg(case, config, predictions[0], case_dir) or None
    report = {"case_id": case.case_id, "bundle": config.spec.name, "layout": case.layout, **report}
    if case.series:
        report["series"] = {channel: scrub(text) for channel, text in case.series.items()}
    (case_dir / "metrics.json").write_text(json.dumps(report, indent=1, sort_keys=False, allow_nan=False))
    return sorted(p.name for p in case_dir.iterdir() if p.is_file() and not p.name.startswith("."))
