"""Reconstruction loss over estimates, fastMRI metrics, and the phantom training set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from medpipe.engines.reconstruction import (
    EstimatesLoss,
    ReconstructionMetric,
    estimate_weights,
    reconstruction_metrics,
    write_phantom_dataset,
)


def test_estimate_weights_are_atommic_logspace():
    # atommic CIRIM: torch.logspace(-1, 0, steps=n) over time steps and over cascades.
    torch.testing.assert_close(estimate_weights(4), torch.logspace(-1, 0, 4) / 4)
    expected = torch.outer(torch.logspace(-1, 0, 2), torch.logspace(-1, 0, 3)).flatten() / 6
    torch.testing.assert_close(estimate_weights(3, 2), expected)
    assert torch.equal(estimate_weights(1), torch.ones(1))


def test_loss_is_zero_for_the_target_and_weights_late_estimates():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 16, 14, generator=generator)
    noise = torch.rand(2, 1, 16, 14, generator=generator)
    loss = EstimatesLoss()
    assert loss(target.repeat(1, 3, 1, 1), target).item() == pytest.approx(0.0, abs=1e-6)
    early_wrong = loss(torch.cat([noise, target, target], 1), target)
    late_wrong = loss(torch.cat([target, target, noise], 1), target)
    assert 0 < early_wrong < late_wrong


def test_metrics_against_numpy_and_skimage():
    generator = np.random.default_rng(0)
    target = generator.random((2, 16, 14))
    prediction = target + 0.05 * generator.standard_normal((2, 16, 14))
    got = reconstruction_metrics(prediction, target)
    mse = ((target - prediction) ** 2).mean()
    assert got["nmse"] == pytest.approx(((target - prediction) ** 2).sum() / (target**2).sum())
    assert got["psnr"] == pytest.approx(10 * np.log10(target.max() ** 2 / mse))
    ssim = np.mean([structural_similarity(t, p, data_range=target.max(), win_size=7) for t, p in zip(target, prediction)])
    assert got["ssim"] == pytest.approx(ssim)
    same = reconstruction_metrics(target, target)
    assert same["ssim"] == pytest.approx(1.0) and same["nmse"] == 0.0 and same["psnr"] == float("inf")
    assert reconstruction_metrics(3.0 * target, target, rescale=True)["nmse"] == pytest.approx(0.0, abs=1e-20)


def test_cumulative_metric_on_bundle_layout():
    target = torch.rand(2, 1, 16, 14, 3)
    metric = ReconstructionMetric("nmse", reduction="none")
    metric(y_pred=target * 1.1, y=target)
    values = metric.aggregate()
    assert values.shape == (2, 1)
    torch.testing.assert_close(values, torch.full((2, 1), 0.01), rtol=1e-4, atol=0)
    mean = ReconstructionMetric("ssim")
    mean(y_pred=target, y=target)
    assert mean.aggregate().item() == pytest.approx(1.0)


def test_phantom_dataset_is_deterministic(tmp_path):
    import h5py

    kwargs = dict(num_slices=1, shape=(16, 14), num_coils=2, noise_stds=(0.0, 0.05))
    first = write_phantom_dataset(str(tmp_path / "a"), 2, **kwargs)
    again = write_phantom_dataset(str(tmp_path / "b"), 2, **kwargs)
    assert [p.rsplit("/", 1)[1] for p in first] == ["phantom_000.h5", "phantom_001.h5"]
    for x, y in zip(first, again):
        with h5py.File(x) as fx, h5py.File(y) as fy:
            assert np.array_equal(fx["kspace"][()], fy["kspace"][()])
    # Case i is kspace_phantom(seed + i) at noise_stds[i % 2]: case 0 noise-free, case 1 noisy.
    from medpipe.synthetic import kspace_phantom

    for i, noise in enumerate((0.0, 0.05)):
        expected = kspace_phantom((16, 14), 2, num_slices=1, seed=i, noise_std=noise, contrast=("t1", "t1ce")[i])
        with h5py.File(first[i]) as f:
            assert np.array_equal(f["kspace"][()], expected.kspace)


def test_errors():
    with pytest.raises(ValueError, match="`num_steps` and `num_cascades` must be >= 1"):
        estimate_weights(0)
    with pytest.raises(ValueError, match="`num_cascades` must be >= 1"):
        EstimatesLoss(num_cascades=0)
    with pytest.raises(ValueError, match="must split into num_cascades=2"):
        EstimatesLoss(num_cascades=2)(torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"`estimates` \(B, N, H, W\) and `target` \(B, 1, H, W\) must match"):
        EstimatesLoss()(torch.rand(1, 3, 8, 8), torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError, match="`noise_stds` must hold at least one noise level"):
        write_phantom_dataset("unused", 1, noise_stds=())
    with pytest.raises(ValueError, match="`metric` must be 'ssim', 'psnr' or 'nmse'"):
        ReconstructionMetric("mae")
    with pytest.raises(ValueError, match="must both be"):
        reconstruction_metrics(np.zeros((4, 4)), np.zeros((4, 5)))
