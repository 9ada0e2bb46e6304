import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from medpipe.losses.reconstruction import SSIML1Loss, time_step_weights, weighted_step_loss


def test_time_step_weights_match_logspace():
    np.testing.assert_allclose(time_step_weights(8).numpy(), np.logspace(-1, 0, 8), rtol=1e-6)
    # n = 1 gives 0.1, exactly as torch.logspace and the reference implementations
    assert time_step_weights(1).tolist() == pytest.approx([0.1])
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        time_step_weights(0)


def _images(seed=0, shape=(2, 1, 21, 18)):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=g) * 7
    pred = target + 0.5 * torch.randn(shape, generator=g)
    return pred, target


def test_ssim_part_uses_target_max_as_data_range():
    pred, target = _images()
    loss = SSIML1Loss(ssim_weight=1.0, l1_weight=0.0)(pred, target)
    # MONAI's SSIM uses the population covariance; scikit-image with use_sample_covariance=False matches
    expected = np.mean(
        [
            structural_similarity(
                t[0].numpy(), p[0].numpy(), data_range=float(t.max()), win_size=7, use_sample_covariance=False
            )
            for p, t in zip(pred, target)
        ]
    )
    assert float(loss) == pytest.approx(1 - expected, abs=1e-4)


def test_l1_part_and_complex_and_scale_invariance():
    pred, target = _images(1, (3, 17, 19))
    l1 = SSIML1Loss(ssim_weight=0.0, l1_weight=1.0)
    scale = target.flatten(1).amax(1)[:, None, None]
    assert float(l1(pred, target)) == pytest.approx(float(((pred - target).abs() / scale).mean()), rel=1e-5)
    both = SSIML1Loss()
    torch.testing.assert_close(both(pred * 1e3, target * 1e3), both(pred, target), rtol=1e-4, atol=1e-5)
    phase = torch.exp(1j * torch.rand(3, 17, 19))
    torch.testing.assert_close(both(pred.abs() * phase, target * phase), both(pred.abs(), target), rtol=1e-5, atol=1e-6)
    assert float(both(target, target)) == pytest.approx(0.0, abs=1e-5)


def test_gradient_flows():
    pred, target = _images(2)
    pred = pred.clone().requires_grad_(True)
    SSIML1Loss()(pred, target).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_weighted_step_loss_steps_and_cascades():
    target = torch.zeros(1, 4, 5)
    steps = [torch.full((1, 4, 5), float(i + 1)) for i in range(3)]
    mean_abs = lambda p, t: (p - t).abs().mean()  # noqa: E731
    weights = np.logspace(-1, 0, 3)
    expected = float((weights * np.array([1, 2, 3])).sum() / 3)
    assert float(weighted_step_loss(mean_abs, steps, target)) == pytest.approx(expected, rel=1e-6)
    cascades = [steps, [s * 2 for s in steps]]
    assert float(weighted_step_loss(mean_abs, cascades, target)) == pytest.approx(1.5 * expected, rel=1e-6)
    assert float(weighted_step_loss(mean_abs, steps[0], target)) == 1.0


def test_errors():
    with pytest.raises(ValueError, match="must be >= 0 and not both 0"):
        SSIML1Loss(ssim_weight=0, l1_weight=0)
    loss = SSIML1Loss()
    with pytest.raises(ValueError, match="same shape"):
        loss(torch.ones(1, 9, 9), torch.ones(1, 9, 8))
    with pytest.raises(ValueError, match=r"`pred` must have shape \(B, H, W\)"):
        loss(torch.ones(9, 9), torch.ones(9, 9))
    with pytest.raises(TypeError, match="`target` must be a torch.Tensor"):
        loss(torch.ones(1, 9, 9), np.ones((1, 9, 9)))
    with pytest.raises(ValueError, match="non-empty list"):
        weighted_step_loss(loss, [], torch.ones(1, 9, 9))
    with pytest.raises(ValueError, match="not a mix"):
        weighted_step_loss(loss, [torch.ones(1, 9, 9), [torch.ones(1, 9, 9)]], torch.ones(1, 9, 9))
