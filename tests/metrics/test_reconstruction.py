import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from medpipe.metrics.reconstruction import nmse, psnr, reconstruction_metrics, ssim


def _pair(seed=0, shape=(3, 23, 19)):
    rng = np.random.default_rng(seed)
    target = rng.random(shape) * 5
    pred = target + rng.normal(0, 0.3, shape)
    return pred, target


@pytest.mark.parametrize("shape", [(23, 19), (3, 23, 19), (2, 1, 17, 21)])
def test_ssim_matches_skimage_fastmri_convention(shape):
    pred, target = _pair(1, shape)
    slices_pred, slices_target = pred.reshape(-1, *shape[-2:]), target.reshape(-1, *shape[-2:])
    # fastMRI evaluate.ssim: per-slice skimage SSIM with data_range = target volume max, averaged
    expected = np.mean(
        [structural_similarity(t, p, data_range=target.max()) for p, t in zip(slices_pred, slices_target)]
    )
    assert ssim(pred, target) == pytest.approx(expected, abs=1e-10)
    assert ssim(torch.from_numpy(pred).float(), torch.from_numpy(target).float()) == pytest.approx(expected, abs=1e-5)


def test_psnr_and_nmse_match_references():
    pred, target = _pair(2)
    assert psnr(pred, target) == pytest.approx(peak_signal_noise_ratio(target, pred, data_range=target.max()), rel=1e-12)
    expected_nmse = np.linalg.norm(target - pred) ** 2 / np.linalg.norm(target) ** 2
    assert nmse(pred, target) == pytest.approx(expected_nmse, rel=1e-12)


def test_identities():
    _, target = _pair(3)
    assert ssim(target, target) == pytest.approx(1.0)
    assert psnr(target, target) == float("inf")
    assert nmse(target, target) == 0.0
    assert nmse(np.zeros_like(target), target) == pytest.approx(1.0)
    metrics = reconstruction_metrics(target * 0.9, target)
    assert set(metrics) == {"ssim", "psnr", "nmse"} and metrics["nmse"] == pytest.approx(0.01)


def test_errors():
    a = np.ones((9, 8))
    with pytest.raises(ValueError, match=r"same shape, got \(9, 8\) and \(8, 9\)"):
        ssim(a, np.ones((8, 9)))
    with pytest.raises(TypeError, match="`pred` must be a real magnitude image"):
        psnr(a.astype(np.complex64), a)
    with pytest.raises(TypeError, match="`target` must be a torch.Tensor or NumPy"):
        nmse(a, [1.0])
    with pytest.raises(ValueError, match="`win_size` must be odd"):
        ssim(a, a, win_size=9)
    with pytest.raises(ValueError, match="`data_range` must be > 0"):
        psnr(a, np.zeros_like(a))
    with pytest.raises(ValueError, match="must not be all zeros"):
        nmse(a, np.zeros_like(a))
    with pytest.raises(ValueError, match="at least 2 axes"):
        ssim(np.ones(9), np.ones(9))
