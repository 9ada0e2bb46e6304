import numpy as np
import pytest
import torch

from medpipe.mri import ifftc, make_mask, percentile, rss
from medpipe.transforms.kspace import (
    AddKSpaceNoise,
    AddKSpaceNoised,
    EstimateSensitivitiesd,
    RandAddKSpaceNoise,
    RandAddKSpaceNoised,
    RandUndersampleKSpace,
    ScaleKSpaceByPercentile,
    ScaleKSpaceByPercentiled,
    UndersampleKSpace,
)


def _kspace(shape=(2, 3, 20, 18), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.complex64)


def test_undersample_seeded_from_case_id():
    kspace = _kspace()
    masked, mask = UndersampleKSpace("equispaced", 4, 0.08)(kspace, "case-7")
    expected = make_mask("equispaced", (20, 18), acceleration=4, center_fraction=0.08, seed="case-7")
    assert torch.equal(mask, expected)
    assert torch.equal(masked, kspace * expected)
    again, _ = UndersampleKSpace("equispaced", 4, 0.08)(kspace, "case-7")
    assert torch.equal(masked, again)


def test_rand_undersample_replays_from_its_parameters():
    kspace = _kspace()
    transform = RandUndersampleKSpace("random", (4, 8), (0.08, 0.04))
    transform.set_random_state(5)
    masked, mask = transform(kspace)
    replay, _ = UndersampleKSpace("random", transform.acceleration, transform.center_fraction)(kspace, transform.seed)
    assert torch.equal(masked, replay)
    with pytest.raises(ValueError, match="non-empty and of equal length"):
        RandUndersampleKSpace("random", (4, 8), (0.08,))


def test_noise_transforms():
    kspace = _kspace((3, 40, 36))
    mask = torch.zeros(36)
    mask[::2] = 1
    noisy = AddKSpaceNoise(0.2)(kspace * mask, mask, "case")
    assert torch.all(noisy[..., mask == 0] == 0)
    assert float((noisy - kspace * mask)[..., mask == 1].real.std()) == pytest.approx(0.2, rel=0.1)
    random = RandAddKSpaceNoise((0.1, 0.3)).set_random_state(1)
    out = random(kspace * mask, mask)
    assert 0.1 <= random.sigma <= 0.3
    assert torch.equal(out, AddKSpaceNoise(random.sigma)(kspace * mask, mask, random.seed))
    assert torch.equal(RandAddKSpaceNoise((0.1, 0.3), prob=0.0)(kspace, mask), kspace)
    with pytest.raises(ValueError, match="`sigma_range` must be"):
        RandAddKSpaceNoise((0.3, 0.1))
    with pytest.raises(ValueError, match="`sigma` must be >= 0"):
        AddKSpaceNoise(-1)


def test_noise_dict_transforms():
    kspace = _kspace((3, 20, 18))
    mask = torch.ones(1, 18)
    data = {"kspace": kspace, "mask": mask, "case_id": "c1"}
    out = AddKSpaceNoised(sigma=0.1)(data)
    torch.testing.assert_close(out["kspace"], AddKSpaceNoise(0.1)(kspace, mask, "c1"))
    rand = RandAddKSpaceNoised(sigma_range=(0.05, 0.05)).set_random_state(3)
    out = rand(data)
    assert float((out["kspace"] - kspace).real.std()) == pytest.approx(0.05, rel=0.2)
    assert torch.equal(RandAddKSpaceNoised(prob=0.0)(data)["kspace"], kspace)


def test_scaling_transforms():
    kspace = _kspace() * 1000
    scaled, scale = ScaleKSpaceByPercentile(99.0)(kspace)
    assert percentile(rss(ifftc(scaled)), 99.0) == pytest.approx(1.0, rel=1e-4)
    label = rss(ifftc(kspace))
    out = ScaleKSpaceByPercentiled(percentile=99.0)({"kspace": kspace, "label": label})
    assert out["kspace_scale"] == pytest.approx(scale)
    torch.testing.assert_close(out["label"], label / scale)
    with pytest.raises(ValueError, match=r"`percentile` must be in \(0, 100\]"):
        ScaleKSpaceByPercentile(0)


def test_estimate_sensitivities_dict():
    kspace = _kspace((2, 4, 20, 18))
    out = EstimateSensitivitiesd(acs_lines=(8, 8))({"kspace": kspace})
    maps = out["sensitivity_maps"]
    assert maps.shape == kspace.shape and maps.dtype == torch.complex64
    np.testing.assert_allclose((maps.abs() ** 2).sum(1).numpy(), 1.0, atol=1e-4)


def test_bad_kspace_errors_name_the_file():
    bad = _kspace((3, 20, 18))
    bad[0, 0, 0] = float("nan")
    data = {"kspace": bad, "kspace_path": "/data/case1.h5", "mask": torch.ones(18)}
    with pytest.raises(ValueError, match=r"`kspace \(from /data/case1.h5\)` must be finite"):
        AddKSpaceNoised(sigma=0.1)(data)
    with pytest.raises(TypeError, match="to_complex"):
        UndersampleKSpace()(torch.zeros(3, 20, 18, 2), "c")
    with pytest.raises(ValueError, match=r"`kspace` must have shape \(\.\.\., C, H, W\)"):
        ScaleKSpaceByPercentile()(torch.ones(20, 18, dtype=torch.complex64))
    with pytest.raises(ValueError, match="`mask` must broadcast"):
        AddKSpaceNoise(0.1)(_kspace((3, 20, 18)), torch.ones(20), "c")
