"""MultiCoilReconstructor: one real tensor in, magnitude out; mask, scaling and estimate selection."""

from __future__ import annotations

import pytest
import torch

from medpipe.networks.reconstructor import MultiCoilReconstructor, estimates_magnitude
from medpipe.networks.rim import CIRIM, RIM
from medpipe.networks.recurrent_varnet import RecurrentVarNet

B, C, H, W = 2, 3, 12, 10


@pytest.fixture
def channels():
    generator = torch.Generator().manual_seed(0)
    kspace = torch.randn(B, C, H, W, dtype=torch.complex64, generator=generator)
    kspace[..., 1::3] = 0
    kspace[..., W // 2 - 2 : W // 2 + 2] = torch.randn(B, C, H, 4, dtype=torch.complex64, generator=generator)
    return torch.cat([kspace.real, kspace.imag], dim=1)


@pytest.mark.parametrize(
    "network, count",
    [
        (lambda: RIM(hidden_channels=4, num_steps=3, cell="gru"), 3),
        (lambda: CIRIM(hidden_channels=4, num_steps=2, num_cascades=2), 4),
        (lambda: RecurrentVarNet(num_steps=2, hidden_channels=4, num_layers=2), 1),
    ],
    ids=["rim", "cirim", "recurrentvarnet"],
)
def test_shapes_and_gradients(channels, network, count):
    model = MultiCoilReconstructor(network())
    out = model(channels)
    assert out.shape == (B, 1, H, W) and out.dtype == torch.float32 and (out >= 0).all()
    model.all_estimates = True
    every = model(channels)
    assert every.shape == (B, count, H, W)
    torch.testing.assert_close(every[:, -1:], out)
    every.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_physics_from_channels(channels):
    model = MultiCoilReconstructor(RIM(hidden_channels=4, num_steps=1))
    kspace, mask, sens, scale = model.physics(channels)
    assert mask.shape == (B, 1, H, W)
    assert torch.all(mask[..., 1::3][..., :1] == 0) and torch.all(mask[..., ::3] == 1)
    torch.testing.assert_close((sens.abs() ** 2).sum(1), torch.ones(B, H, W), atol=1e-4, rtol=0)
    original = torch.complex(channels[:, :C], channels[:, C:])
    torch.testing.assert_close(kspace * scale, original)


def test_output_follows_input_scale(channels):
    """Slices are scaled to unit level before the network, so f(a x) = a f(x)."""
    model = MultiCoilReconstructor(RIM(hidden_channels=4, num_steps=2, cell="indrnn")).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(channels * 7.5), model(channels) * 7.5, rtol=1e-4, atol=1e-5)


def test_estimates_magnitude_layouts():
    rim_out = torch.randn(3, B, H, W, dtype=torch.complex64)
    assert torch.equal(estimates_magnitude(rim_out)[:, 2], rim_out[2].abs())
    cirim_out = torch.randn(2, 3, B, H, W, dtype=torch.complex64)
    assert torch.equal(estimates_magnitude(cirim_out)[:, 4], cirim_out[1, 1].abs())
    assert estimates_magnitude(torch.rand(B, H, W)).shape == (B, 1, H, W)


def test_errors(channels):
    with pytest.raises(TypeError, match="`network` must be a torch.nn.Module"):
        MultiCoilReconstructor("RIM")
    with pytest.raises(ValueError, match="`sensitivity_method` must be 'lowres' or 'espirit'"):
        MultiCoilReconstructor(RIM(), sensitivity_method="sense")
    model = MultiCoilReconstructor(RIM(hidden_channels=4, num_steps=1))
    with pytest.raises(ValueError, match=r"`image` must be real k-space channels \(B, 2C, H, W\)"):
        model(channels[:, :5])
    with pytest.raises(ValueError, match="a real network output must be"):
        estimates_magnitude(torch.rand(B, 1, H, W))
    with pytest.raises(ValueError, match="a complex network output must be"):
        estimates_magnitude(torch.rand(B, H, W, dtype=torch.complex64))


def test_sensitivity_refinement_is_trained_jointly(channels):
    from medpipe.networks.sensitivity import SensitivityRefinement

    refine = SensitivityRefinement(features=(4, 4, 8, 8, 16, 4))
    model = MultiCoilReconstructor(RIM(hidden_channels=4, num_steps=1), sensitivity_model=refine)
    _, _, sens, _ = model.physics(channels)
    torch.testing.assert_close((sens.abs() ** 2).sum(1), torch.ones(B, H, W))
    model(channels).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in refine.parameters())
