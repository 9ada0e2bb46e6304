"""RecurrentVarNet: shapes, gradients, reference parameter counts, the k-space update, the initialiser."""

from __future__ import annotations

import pytest
import torch

from medpipe.mri.coils import rss
from medpipe.mri.fft import ifftc
from medpipe.networks.recurrent_varnet import RecurrentStateInitializer, RecurrentVarNet

B, C, H, W = 2, 3, 12, 10


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.fixture
def physics():
    generator = torch.Generator().manual_seed(0)
    kspace = torch.randn(B, C, H, W, dtype=torch.complex64, generator=generator)
    sens = torch.randn(B, C, H, W, dtype=torch.complex64, generator=generator)
    sens = sens / (sens.abs() ** 2).sum(1, keepdim=True).sqrt()
    mask = torch.zeros(B, 1, H, W, dtype=torch.bool)
    mask[..., ::3] = True
    mask[..., W // 2 - 1 : W // 2 + 1] = True
    return kspace * mask, mask, sens


# Reference counts: DIRECT projects/cvpr2022_recurrentvarnet configs (fastmri/AXT1_brain and
# calgary_campinas base_recurrentvarnet.yaml; initializer_multiscale: 3), sensitivity model excluded.
@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(num_steps=8, hidden_channels=96, num_layers=3, initializer_multiscale=3), 2_827_320),
        (dict(num_steps=8, hidden_channels=128, num_layers=4, initializer_multiscale=3), 6_918_424),
    ],
    ids=["fastmri-axt1", "calgary-campinas"],
)
def test_reference_parameter_counts(kwargs, expected):
    assert _count(RecurrentVarNet(**kwargs)) == expected


def test_shared_weights_and_no_initializer_counts():
    per_step = RecurrentVarNet(num_steps=3, hidden_channels=8, num_layers=2, learned_initializer=False)
    shared = RecurrentVarNet(num_steps=3, hidden_channels=8, num_layers=2, learned_initializer=False, shared_weights=True)
    assert _count(per_step) == 3 * _count(shared)


def test_shape_and_gradients(physics):
    kspace, mask, sens = physics
    net = RecurrentVarNet(num_steps=2, hidden_channels=6, num_layers=3, initializer_multiscale=2)
    out = net(kspace, mask, sens)
    assert out.shape == (B, H, W) and out.dtype == torch.float32
    assert net.reconstruct_kspace(kspace, mask, sens).shape == (B, C, H, W)
    out.mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_update_rule(physics):
    """k_{t+1} = k_t - alpha_t M (k_t - y) + F(E(w_t)), checked step by step against a manual loop."""
    kspace, mask, sens = physics
    torch.manual_seed(0)
    net = RecurrentVarNet(num_steps=2, hidden_channels=4, num_layers=2, learned_initializer=False)
    with torch.no_grad():
        net.step_sizes.copy_(torch.tensor([0.3, 0.7]))
    from medpipe.mri.coils import sense_expand, sense_reduce
    from medpipe.mri.fft import fftc

    k, hidden = kspace, None
    for t in range(2):
        image = sense_reduce(ifftc(k), sens)
        w, hidden = net.units[t](torch.stack([image.real, image.imag], 1), hidden)
        k = k - net.step_sizes[t] * mask * (k - kspace) + fftc(sense_expand(torch.complex(w[:, 0], w[:, 1]), sens))
    torch.testing.assert_close(net.reconstruct_kspace(kspace, mask, sens), k)
    torch.testing.assert_close(net(kspace, mask, sens), rss(ifftc(k), coil_dim=1))


def test_zero_regulariser_returns_zero_filled_rss(physics):
    kspace, mask, sens = physics
    net = RecurrentVarNet(num_steps=2, hidden_channels=4, num_layers=2)
    for unit in net.units:
        torch.nn.init.zeros_(unit.out_conv[1].weight)
        torch.nn.init.zeros_(unit.out_conv[1].bias)
    torch.testing.assert_close(net(kspace, mask, sens), rss(ifftc(kspace), coil_dim=1))


def test_initializer_multiscale():
    init = RecurrentStateInitializer(2, 5, num_layers=3, channels=(4, 6, 8), dilations=(1, 2, 4), multiscale_depth=2)
    assert [head.in_channels for head in init.heads] == [14, 14, 14]
    states = init(torch.randn(2, 2, H, W))
    assert len(states) == 3 and all(s.shape == (2, 5, H, W) and (s >= 0).all() for s in states)


def test_errors(physics):
    kspace, mask, sens = physics
    with pytest.raises(ValueError, match="`num_steps` must be a positive int"):
        RecurrentVarNet(num_steps=0)
    with pytest.raises(ValueError, match="`channels` and `dilations` must be non-empty and of equal length"):
        RecurrentVarNet(initializer_channels=(8, 8), initializer_dilations=(1,))
    with pytest.raises(ValueError, match=r"`multiscale_depth` must be an int in \[1, 4\]"):
        RecurrentVarNet(initializer_multiscale=5)
    net = RecurrentVarNet(num_steps=1, hidden_channels=4, num_layers=2)
    with pytest.raises(TypeError, match="`sensitivity_maps` must be a complex tensor"):
        net(kspace, mask, sens.abs())
    with pytest.raises(ValueError, match=r"`masked_kspace` must have shape \(B, C, H, W\)"):
        net(kspace[0], mask, sens[0])
    with pytest.raises(TypeError, match="`mask` must be a torch.Tensor"):
        net(kspace, mask.numpy(), sens)
