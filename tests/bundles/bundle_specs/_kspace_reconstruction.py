"""Shared test data and checks of the three k-space reconstruction bundles (see ``__init__.py``).

``mri_rim_reconstruction.py``, ``mri_cirim_reconstruction.py`` and ``mri_recurrentvarnet_reconstruction.py``
re-export these names.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]

# Tiny cases: distinct, non-power-of-two axis sizes; a fully sampled centre wide enough to calibrate from.
TINY_SHAPE, TINY_COILS, TINY_SLICES = (24, 20), 4, 2
TINY_CENTER_FRACTION = 0.15


def _write_phantoms(root: Path, seeds, *, name="synth_{seed:04d}", shape=TINY_SHAPE, coils=TINY_COILS,
                    slices=TINY_SLICES) -> list[str]:
    from medpipe.io.kspace import write_fastmri_h5
    from medpipe.synthetic import kspace_phantom

    root.mkdir(parents=True, exist_ok=True)
    case_ids = []
    for seed in seeds:
        phantom = kspace_phantom(shape, coils, num_slices=slices, seed=seed, noise_std=0.01)
        case_id = name.format(seed=seed)
        write_fastmri_h5(root / f"{case_id}.h5", phantom.kspace)
        case_ids.append(case_id)
    return case_ids


def write_tiny_dataset(root: Path) -> tuple[dict, list[str]]:
    """Two tiny fully sampled phantoms as fastMRI HDF5 (the default layout ``{case_id}.h5``)."""
    case_ids = _write_phantoms(root, seeds=(11, 12))
    return {"dataset_dir": str(root), "center_fraction": TINY_CENTER_FRACTION, "slice_batch_size": 2}, case_ids


TRAIN_OVERRIDES = {
    "batch_size": 1,
    "val_interval": 1,
    "accelerations": [4.0],
    "center_fractions": [TINY_CENTER_FRACTION],
    "val_center_fraction": TINY_CENTER_FRACTION,
    "slice_batch_size": 2,
}


def _manifest(dataset: str) -> dict:
    return json.loads((REPO / "data_manifests" / f"{dataset}.json").read_text())


def _fastmri_layout(root: Path, dataset: str, stem: str) -> dict:
    """fastMRI-like files: 640-style oversampled readout (here 32), reconstruction_rss cropped (16 x 16)."""
    from medpipe.io.kspace import write_fastmri_h5
    from medpipe.synthetic import kspace_phantom

    manifest = _manifest(dataset)
    root.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate((31, 32)):
        phantom = kspace_phantom((32, 20), TINY_COILS, num_slices=2, seed=seed)
        rss = phantom.reconstruction_rss[:, 8:24, 2:18]
        write_fastmri_h5(root / f"{stem}{i}.h5", phantom.kspace, reconstruction_rss=rss,
                         attrs={"acquisition": "AXT1" if "brain" in dataset else "CORPD_FBK"})
    overrides = {"dataset_dir": str(root), "dataset_layout": manifest["layout"]}
    overrides.update({k: v for k, v in manifest["bundle_overrides"]["mri_rim_reconstruction"].items()
                      if k not in ("dataset_layout",)})
    return overrides


def _calgary_campinas_layout(root: Path) -> dict:
    """CC-359-like files: float (slices, H, W, 2C) interleaved, uncentred FFT, partial-Fourier zeros."""
    import h5py

    from medpipe.synthetic import kspace_phantom

    manifest = _manifest("calgary_campinas")
    root.mkdir(parents=True, exist_ok=True)
    for name, seed in (("e14089s3_P53248.7", 41), ("e14090s3_P59904.7", 42)):
        phantom = kspace_phantom((24, 22), TINY_COILS, num_slices=2, seed=seed)
        image = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(phantom.kspace, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
        uncentred = np.fft.fft2(image, norm="ortho")
        uncentred[..., -3:] = 0  # partial Fourier along kz, as in CC-359
        data = np.empty((2, 24, 22, 2 * TINY_COILS), dtype=np.float32)
        data[..., ::2] = uncentred.real.transpose(0, 2, 3, 1)
        data[..., 1::2] = uncentred.imag.transpose(0, 2, 3, 1)
        with h5py.File(root / f"{name}.h5", "w") as f:
            f["kspace"] = data
    overrides = {"dataset_dir": str(root), "dataset_layout": manifest["layout"]}
    overrides.update({k: v for k, v in manifest["bundle_overrides"]["mri_rim_reconstruction"].items()
                      if k not in ("dataset_layout",)})
    overrides["center_fractions"] = [TINY_CENTER_FRACTION] * len(overrides.get("accelerations", [4.0]))
    return overrides


REAL_LAYOUTS = {
    "fastmri_brain_multicoil": lambda root: _fastmri_layout(root, "fastmri_brain_multicoil", "file_brain_AXT1_201_600271"),
    "fastmri_knee_multicoil": lambda root: _fastmri_layout(root, "fastmri_knee_multicoil", "file100000"),
    "calgary_campinas": _calgary_campinas_layout,
}

# Sensitivity estimation is Python code: the model is traced, not scripted (the trace fixes the
# calibration region of its example, a fully sampled random input like the comparison input).
EXPORT = {"use_trace": True, "input_shape": [1, 2 * TINY_COILS, 24, 20]}

# verify_net_in_out feeds random (fully sampled) k-space of metadata's 16 channels, 8 x 8.
VERIFY_NET_IN_OUT = {}

SSIM_GAIN_THRESHOLD = 0.05
FRESH_SEEDS = (1000, 1001)


def check_quality(tmp_path: Path, run_inference) -> tuple[str, float, float]:
    """SSIM gain over the zero-filled RSS at 4x (equispaced, seeded by case id) on fresh 64 x 56 phantoms."""
    import nibabel as nib
    import torch

    from medpipe.engines.reconstruction import reconstruction_metrics
    from medpipe.io.kspace import read_fastmri_h5
    from medpipe.mri.coils import rss
    from medpipe.mri.fft import ifftc
    from medpipe.mri.masks import equispaced_mask

    data = tmp_path / "fresh"
    case_ids = _write_phantoms(data, FRESH_SEEDS, name="fresh_{seed}", shape=(64, 56), coils=8, slices=1)
    out = tmp_path / "pred"
    run_inference({"dataset_dir": str(data), "output_dir": str(out)})
    gains = []
    for case_id in case_ids:
        kspace = torch.from_numpy(read_fastmri_h5(data / f"{case_id}.h5")["kspace"])
        target = rss(ifftc(kspace), coil_dim=1)[0].numpy()
        mask = equispaced_mask((64, 56), acceleration=4, center_fraction=0.08, seed=case_id)
        zero_filled = rss(ifftc(kspace * mask), coil_dim=1)[0].numpy()
        prediction = np.asarray(nib.load(out / f"{case_id}_recon.nii.gz").dataobj)[..., 0]
        gains.append(reconstruction_metrics(prediction, target)["ssim"] - reconstruction_metrics(zero_filled, target)["ssim"])
    return "SSIM gain over zero-filled at 4x on fresh phantoms", float(np.mean(gains)), SSIM_GAIN_THRESHOLD
