"""The optional clDice and Betti-matching loss terms of the BraTS bundle's train.json."""

from __future__ import annotations

import math

from tests.bundles.bundle_specs import brats_mri_revunet_segmentation as spec
from tests.bundles.workflows import bundle_configs, bundle_workflow

BRATS = "brats_mri_revunet_segmentation"


def test_train_iteration_with_cldice_and_betti_matching_terms(tmp_path, monkeypatch):
    import torch

    overrides, _ = spec.write_tiny_dataset(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    workflow = bundle_workflow(
        BRATS, bundle_configs(BRATS, "train.json"), "train",
        {
            "ckpt_dir": str(tmp_path / "models"),
            **overrides,
            **spec.TRAIN_OVERRIDES,
            "cldice_weight": 0.5,
            "betti_matching_weight": 0.01,
            "train#trainer#max_epochs": 1,
            "train#trainer#epoch_length": 1,
        },
    )
    workflow.initialize()
    loss = workflow.parser.get_parsed_content("loss")
    dice_ce = workflow.parser.get_parsed_content("dice_ce_loss")
    logits = torch.randn(1, 3, 16, 16, 16, generator=torch.Generator().manual_seed(0))
    target = (torch.rand(1, 3, 16, 16, 16, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    # The weighted terms are really added: the total exceeds DiceCE alone by the weighted terms.
    cldice = workflow.parser.get_parsed_content("cldice_loss")(logits, target)
    betti = workflow.parser.get_parsed_content("betti_matching_loss")(logits, target)
    torch.testing.assert_close(loss(logits, target), dice_ce(logits, target) + 0.5 * cldice + 0.01 * betti)
    workflow.run()
    trainer = workflow.parser.get_parsed_content("train#trainer")
    workflow.finalize()
    assert trainer.state.iteration == 1
    assert all(math.isfinite(float(item["loss"])) for item in trainer.state.output)
