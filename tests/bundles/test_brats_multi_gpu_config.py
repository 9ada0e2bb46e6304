"""``multi_gpu_train.json`` of the BraTS bundle, launched by torchrun (one CPU process, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.bundles.bundle_specs import brats_mri_revunet_segmentation as spec

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "brats_mri_revunet_segmentation"


def test_torchrun_multi_gpu_overlay_trains_and_saves(tmp_path):
    overrides, _ = spec.write_tiny_dataset(tmp_path / "data")
    args = {
        "config_file": [str(BUNDLE / "configs" / "train.json"), str(BUNDLE / "configs" / "multi_gpu_train.json")],
        "meta_file": str(BUNDLE / "configs" / "metadata.json"),
        "logging_file": str(BUNDLE / "configs" / "logging.conf"),
        "bundle_root": str(BUNDLE),
        "ckpt_dir": str(tmp_path / "models"),
        **overrides,
        **spec.TRAIN_OVERRIDES,
        "epochs": 1,
    }
    (tmp_path / "args.json").write_text(json.dumps(args))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=1",
        "-m", "monai.bundle", "run", "--args_file", str(tmp_path / "args.json"),
    ]
    result = subprocess.run(
        command, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "models" / "model.pt").is_file()
