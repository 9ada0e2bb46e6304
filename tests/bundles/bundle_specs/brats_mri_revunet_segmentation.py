"""Test data and checks of the ``brats_mri_revunet_segmentation`` bundle (see ``__init__.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BUNDLE = Path(__file__).resolve().parents[3] / "bundles" / "brats_mri_revunet_segmentation"
REPO = BUNDLE.parents[1]

# The geometry the shipped weights were trained at (docs/README.md): a whole brain on a 32x32x24
# grid, i.e. the BraTS field of view (240 x 240 x 155 mm) at 7.5 x 7.5 x 6.46 mm.
PHANTOM_SHAPE = (32, 32, 24)
PHANTOM_SPACING = (7.5, 7.5, 155 / 24)
# Tiny cases for the harness: distinct axis sizes, multiples of 4 avoided on purpose.
TINY_SHAPE = (22, 19, 17)
TINY_SPACING = (240 / 22, 240 / 19, 155 / 17)


def _layout(config: str = "train.json") -> dict:
    return json.loads((BUNDLE / "configs" / config).read_text())["dataset_layout"]


def write_phantom_cases(root: Path, seeds, *, shape=PHANTOM_SHAPE, spacing=PHANTOM_SPACING, layout=None,
                        label_convention: str = "brats") -> list[str]:
    """Write ``brain_phantom`` cases ``synth_<seed>`` into ``root`` in the bundle's layout."""
    from medpipe.bundles import write_layout_case
    from medpipe.synthetic import brain_phantom

    layout = layout or _layout()
    case_ids = []
    for seed in seeds:
        phantom = brain_phantom(shape, spacing, seed=seed, label_convention=label_convention)
        case_id = f"synth_{seed:04d}"
        arrays = {key: phantom.images[key] for key in layout["images"]}
        arrays["label"] = phantom.label
        write_layout_case(root, case_id, arrays, phantom.affine, layout)
        case_ids.append(case_id)
    return case_ids


def write_tiny_dataset(root: Path) -> tuple[dict, list[str]]:
    """Two tiny phantom cases in the default (BraTS 2021) layout; overrides for fast runs."""
    case_ids = write_phantom_cases(root, seeds=(11, 12), shape=TINY_SHAPE, spacing=TINY_SPACING)
    return {"dataset_dir": str(root), "roi_size": [16, 16, 16]}, case_ids


TRAIN_OVERRIDES = {
    "patch_size": [16, 16, 16],
    "roi_size": [16, 16, 16],
    "batch_size": 1,
    "num_samples": 1,
    "val_interval": 1,
}


def _write_manifest_layout(root: Path, dataset: str) -> dict:
    manifest = json.loads((REPO / "data_manifests" / f"{dataset}.json").read_text())
    layout = manifest["layout"]
    convention = "brats2023" if manifest["label_map"].get("3") else "brats"
    write_phantom_cases(root, seeds=(21, 22), shape=TINY_SHAPE, spacing=TINY_SPACING, layout=layout,
                        label_convention=convention)
    return {"dataset_dir": str(root), "dataset_layout": layout, "et_label": 3 if convention == "brats2023" else 4}


REAL_LAYOUTS = {
    "brats2021": lambda root: _write_manifest_layout(root, "brats2021"),
    "brats2023": lambda root: _write_manifest_layout(root, "brats2023"),
}

# ckpt_export: the custom reversible autograd function is traced, not scripted.
EXPORT = {"use_trace": True, "input_shape": [1, 4, 16, 16, 16]}

WT_DICE_THRESHOLD = 0.8
FRESH_SEEDS = (1000, 1001, 1002)


def check_quality(tmp_path: Path, run_inference) -> tuple[str, float, float]:
    """Mean whole-tumour Dice of the shipped weights on fresh phantoms (seeds never trained on)."""
    import nibabel as nib

    from medpipe.transforms.brats import brats_label_to_regions
    import torch

    data = tmp_path / "fresh"
    case_ids = write_phantom_cases(data, FRESH_SEEDS)
    out = tmp_path / "pred"
    run_inference({"dataset_dir": str(data), "output_dir": str(out)})
    dices = []
    for case_id in case_ids:
        pred = np.asarray(nib.load(out / f"{case_id}_seg.nii.gz").dataobj)
        gt = np.asarray(nib.load(data / case_id / f"{case_id}_seg.nii.gz").dataobj)
        wt_pred = brats_label_to_regions(torch.as_tensor(pred))[1].bool()
        wt_gt = brats_label_to_regions(torch.as_tensor(gt))[1].bool()
        dices.append(float(2 * (wt_pred & wt_gt).sum() / (wt_pred.sum() + wt_gt.sum())))
    return "mean WT Dice on fresh phantoms", float(np.mean(dices)), WT_DICE_THRESHOLD

# verify_net_in_out runs the network in training mode; n=4 gives 16^3 inputs so the coarsest
# level (4^3) still has more than one voxel for instance norm.
VERIFY_NET_IN_OUT = {"n": 4}
