"""Test data for the batch tests: a tiny MONAI bundle and small phantom case folders.

The tiny bundle is a valid model-zoo style ``inference.json`` (LoadImaged -> ... -> Invertd ->
SaveImaged to ``@output_dir``, a ``SupervisedEvaluator`` and a ``CheckpointLoader``) around a
seeded 3x3x3 convolution, so the runner is tested on MONAI's real config machinery in well
under a second per case.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SHAPE = (21, 22, 19)
SPACING = (2.0, 2.0, 2.0)
MODALITIES = ("t1", "t1ce", "t2", "flair")

INFERENCE = {
    "imports": ["$import glob", "$import os"],
    "bundle_root": ".",
    "output_dir": "$@bundle_root + '/eval'",
    "dataset_dir": "/workspace/data",
    "datalist": [],
    "device": "$torch.device('cpu')",
    "network_def": {"_target_": "torch.nn.Conv3d", "in_channels": 4, "out_channels": 3, "kernel_size": 3, "padding": 1},
    "network": "$@network_def.to(@device)",
    "preprocessing": {
        "_target_": "Compose",
        "transforms": [
            {"_target_": "LoadImaged", "keys": "image", "image_only": True},
            {"_target_": "EnsureChannelFirstd", "keys": "image"},
            {"_target_": "Orientationd", "keys": "image", "axcodes": "RAS"},
            {"_target_": "NormalizeIntensityd", "keys": "image", "nonzero": True, "channel_wise": True},
            {"_target_": "EnsureTyped", "keys": "image"},
        ],
    },
    "dataset": {"_target_": "Dataset", "data": "@datalist", "transform": "@preprocessing"},
    "dataloader": {"_target_": "DataLoader", "dataset": "@dataset", "batch_size": 1, "shuffle": False, "num_workers": 0},
    "inferer": {"_target_": "SimpleInferer"},
    "postprocessing": {
        "_target_": "Compose",
        "transforms": [
            {"_target_": "Activationsd", "keys": "pred", "softmax": True},
            {"_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": "image", "nearest_interp": False, "to_tensor": True},
            {"_target_": "AsDiscreted", "keys": "pred", "argmax": True},
            {"_target_": "SaveImaged", "keys": "pred", "output_dir": "@output_dir", "output_postfix": "seg",
             "output_dtype": "$numpy.uint8", "resample": False, "separate_folder": False},
        ],
    },
    "handlers": [{"_target_": "CheckpointLoader", "load_path": "$@bundle_root + '/models/model.pt'", "load_dict": {"model": "@network"}}],
    "evaluator": {"_target_": "SupervisedEvaluator", "device": "@device", "val_data_loader": "@dataloader", "network": "@network",
                  "inferer": "@inferer", "postprocessing": "@postprocessing", "val_handlers": "@handlers", "amp": False},
    "initialize": ["$monai.utils.set_determinism(seed=0)"],
    "run": ["$@evaluator.run()"],
}

METADATA = {
    "version": "0.1.0",
    "network_data_format": {
        "inputs": {"image": {"type": "image", "format": "magnitude", "modality": "MRI", "num_channels": 4,
                             "channel_def": {"0": "T1", "1": "T1ce", "2": "T2", "3": "FLAIR"}}},
        "outputs": {"pred": {"type": "image", "format": "segmentation", "num_channels": 1,
                             "channel_def": {"0": "background", "1": "core", "2": "oedema"}}},
    },
}


def write_tiny_bundle(folder: Path, name: str = "tiny_brats_segmentation") -> Path:
    """Write the tiny bundle into ``folder/name`` and return its path."""
    import torch

    root = folder / name
    (root / "configs").mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    (root / "configs" / "inference.json").write_text(json.dumps(INFERENCE, indent=1))
    (root / "configs" / "metadata.json").write_text(json.dumps(METADATA, indent=1))
    generator = torch.Generator().manual_seed(7)
    network = torch.nn.Conv3d(4, 3, 3, padding=1)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    torch.save(network.state_dict(), root / "models" / "model.pt")
    return root


def write_brats_like(root: Path, case_id: str, seed: int, *, names=MODALITIES, separator="_", label=True) -> Path:
    """A BraTS-layout case ``root/case_id/case_id_<modality>.nii.gz`` (+ ``_seg``) from a phantom."""
    from medpipe.synthetic import brain_phantom, write_nifti

    phantom = brain_phantom(SHAPE, SPACING, seed=seed)
    folder = root / case_id
    folder.mkdir(parents=True, exist_ok=True)
    for modality, name in zip(MODALITIES, names):
        if name is not None:
            write_nifti(folder / f"{case_id}{separator}{name}.nii.gz", phantom.images[modality], phantom.affine)
    if label:
        write_nifti(folder / f"{case_id}{separator}seg.nii.gz", phantom.label, phantom.affine)
    return folder


def write_dicom_like(root: Path, study_id: str, seed: int, *, descriptions=None, localizer=True, extra=True,
                     patient_name="DOE^JOHNATHAN", patient_id="PID-55501") -> Path:
    """A DICOM study: four MR series (T1, T1 post-contrast, T2, FLAIR), a localizer and a DWI series."""
    from medpipe.synthetic import brain_phantom, write_dicom_series

    phantom = brain_phantom(SHAPE, SPACING, seed=seed)
    folder = root / study_id
    descriptions = descriptions or {"t1": "T1 AX", "t1ce": "T1 AX POST GD", "t2": "T2 AX", "flair": "AX FLAIR"}
    study_uid = f"1.2.826.0.1.3680043.8.498.{seed + 1000}"
    tags = {"PatientName": patient_name, "PatientBirthDate": "19610203"}
    number = 1
    if localizer:
        write_dicom_series(folder / "loc", phantom.images["t1"][:, :, 8:11], phantom.affine, modality="MR",
                           series_description="3-plane Localizer", seed=seed, series_number=number, study_uid=study_uid,
                           patient_id=patient_id, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), extra_tags=tags)
        number += 1
    for modality, description in descriptions.items():
        write_dicom_series(folder / modality, phantom.images[modality], phantom.affine, modality="MR",
                           series_description=description, seed=seed, series_number=number, study_uid=study_uid,
                           patient_id=patient_id, extra_tags=tags)
        number += 1
    if extra:
        write_dicom_series(folder / "dwi", phantom.images["t2"], phantom.affine, modality="MR", series_description="DWI b1000",
                           seed=seed, series_number=number, study_uid=study_uid, patient_id=patient_id, extra_tags=tags)
    return folder


def read_pred(path: Path) -> np.ndarray:
    import nibabel as nib

    return np.asanyarray(nib.load(str(path)).dataobj)
