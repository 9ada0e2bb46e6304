"""RIM, CIRIM and their recurrent cells: shapes, gradients, reference parameter counts, cell equations."""

from __future__ import annotations

import pytest
import torch

from medpipe.mri.coils import sense_reduce
from medpipe.mri.fft import ifftc
from medpipe.networks.rim import CIRIM, RIM, ConvGRU, ConvMGU, IndRNN
from medpipe.networks.rnn_cells import ConvRecurrentUnit

B, C, H, W = 2, 3, 12, 10


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.fixture
def physics():
    generator = torch.Generator().manual_seed(0)
    kspace = torch.randn(B, C, H, W, dtype=torch.complex64, generator=generator)
    sens = torch.randn(B, C, H, W, dtype=torch.complex64, generator=generator)
    sens = sens / (sens.abs() ** 2).sum(1, keepdim=True).sqrt()
    mask = torch.zeros(1, 1, 1, W)
    mask[..., ::2] = 1
    mask[..., W // 2 - 1 : W // 2 + 1] = 1
    return kspace * mask, mask, sens


# Reference counts: atommic RIM/CIRIM configurations (conv_filters [F, F, 2], kernels [5, 3, 3],
# dilations [1, 2, 1], recurrent kernels 1, depth 2), as listed in medpipe issue 6.
@pytest.mark.parametrize(
    "net, expected",
    [
        (lambda: RIM(hidden_channels=64, num_layers=2, cell="gru"), 94_080),
        (lambda: RIM(hidden_channels=64, num_layers=2, cell="mgu"), 77_568),
        (lambda: RIM(hidden_channels=64, num_layers=2, cell="indrnn"), 52_992),
        (lambda: CIRIM(hidden_channels=64, num_cascades=5, cell="indrnn"), 264_960),
        (lambda: CIRIM(hidden_channels=128, num_cascades=5, cell="indrnn"), 980_480),
    ],
    ids=["rim-gru-64", "rim-mgu-64", "rim-indrnn-64", "cirim-indrnn-64", "cirim-indrnn-128"],
)
def test_reference_parameter_counts(net, expected):
    assert _count(net()) == expected


def test_cirim_cascades_do_not_share_weights():
    cirim = CIRIM(hidden_channels=64, num_cascades=5, cell="indrnn")
    assert _count(cirim) == 5 * _count(RIM(hidden_channels=64, cell="indrnn"))
    assert len({id(p) for p in cirim.parameters()}) == len(list(cirim.parameters()))


@pytest.mark.parametrize("cell", ["gru", "mgu", "indrnn"])
def test_rim_shape_and_gradients(physics, cell):
    kspace, mask, sens = physics
    net = RIM(hidden_channels=6, num_steps=3, cell=cell)
    out = net(kspace, mask, sens)
    assert out.shape == (3, B, H, W) and out.dtype == torch.complex64
    out[-1].abs().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("implicit_dc", [True, False])
def test_cirim_shape_and_gradients(physics, implicit_dc):
    kspace, mask, sens = physics
    net = CIRIM(hidden_channels=6, num_steps=2, num_cascades=3, cell="indrnn", implicit_dc=implicit_dc)
    out = net(kspace, mask, sens)
    assert out.shape == (3, 2, B, H, W) and out.dtype == torch.complex64
    out[-1, -1].abs().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert _count(net) == 3 * _count(RIM(6, cell="indrnn")) + (0 if implicit_dc else 3)


def test_rim_update_is_additive(physics):
    """x_{t+1} = x_t + Delta_t: with the output convolution zeroed, every estimate is the SENSE image."""
    kspace, mask, sens = physics
    net = RIM(hidden_channels=4, num_steps=3, cell="gru")
    torch.nn.init.zeros_(net.unit.out_conv[1].weight)
    out = net(kspace, mask, sens)
    start = sense_reduce(ifftc(kspace), sens)
    for estimate in out:
        torch.testing.assert_close(estimate, start)


def test_rim_feeds_estimate_and_gradient(physics, monkeypatch):
    """The unit sees 4 channels: the estimate (real, imag), then the log-likelihood gradient (real, imag)."""
    kspace, mask, sens = physics
    net = RIM(hidden_channels=4, num_steps=1, cell="indrnn")
    seen = []
    original = net.unit.forward
    monkeypatch.setattr(net.unit, "forward", lambda x, h=None: (seen.append(x), original(x, h))[1])
    net(kspace, mask, sens)
    from medpipe.mri.operators import log_likelihood_gradient

    start = sense_reduce(ifftc(kspace), sens)
    gradient = log_likelihood_gradient(start, kspace, sens, mask, sigma=1.0)
    expected = torch.stack([start.real, start.imag, gradient.real, gradient.imag], dim=1)
    torch.testing.assert_close(seen[0], expected)


def test_cirim_carries_hidden_state_across_cascades(physics):
    kspace, mask, sens = physics
    torch.manual_seed(1)
    net = CIRIM(hidden_channels=4, num_steps=2, num_cascades=2, cell="gru")
    out = net(kspace, mask, sens)
    image = sense_reduce(ifftc(kspace), sens)
    first, hidden = net.cascades[0].iterate(image, kspace, mask, sens)
    second, _ = net.cascades[1].iterate(first[-1], kspace, mask, sens, hidden)
    torch.testing.assert_close(out[1, -1], second[-1])
    fresh, _ = net.cascades[1].iterate(first[-1], kspace, mask, sens, None)
    assert not torch.allclose(out[1, -1], fresh[-1])


def _one_pixel_cell(cell):
    """Inputs of shape (1, channels, 1, 1) so that 1x1 convolutions are matrix products."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(1, cell.in_channels, 1, 1, generator=generator)
    h = torch.randn(1, cell.hidden_channels, 1, 1, generator=generator)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return x, h


def test_indrnn_equation():
    cell = IndRNN(3, 2)
    x, h = _one_pixel_cell(cell)
    w, b = cell.input_conv.weight[:, :, 0, 0], cell.input_conv.bias
    u = cell.recurrent_weight.flatten()
    expected = torch.relu(w @ x.flatten() + b + u * h.flatten())
    torch.testing.assert_close(cell(x, h).flatten(), expected)


def test_mgu_equation():
    cell = ConvMGU(3, 2)
    x, h = _one_pixel_cell(cell)
    wi, bi = cell.input_gates.weight[:, :, 0, 0], cell.input_gates.bias
    wh = cell.hidden_gates.weight[:, :, 0, 0]
    xi, hv = x.flatten(), h.flatten()
    gi, gh = wi @ xi + bi, wh @ hv
    f = torch.sigmoid(gi[:2] + gh[:2])
    c = torch.tanh(gi[2:] + f * gh[2:])
    torch.testing.assert_close(cell(x, h).flatten(), (1 - f) * c + f * hv)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_equation(reset_after):
    cell = ConvGRU(3, 2, reset_after=reset_after)
    x, h = _one_pixel_cell(cell)
    wi, bi = cell.input_gates.weight[:, :, 0, 0], cell.input_gates.bias
    wh, wc = cell.hidden_gates.weight[:, :, 0, 0], cell.hidden_candidate.weight[:, :, 0, 0]
    xi, hv = x.flatten(), h.flatten()
    gi, gh = wi @ xi + bi, wh @ hv
    r, z = torch.sigmoid(gi[:2] + gh[:2]), torch.sigmoid(gi[2:4] + gh[2:])
    if reset_after:
        n = torch.tanh(gi[4:] + r * (wc @ hv))
        expected = (1 - z) * n + z * hv
    else:
        n = torch.tanh(gi[4:] + wc @ (r * hv))
        expected = (1 - z) * hv + z * n
    torch.testing.assert_close(cell(x, h).flatten(), expected)


def test_unit_layer_geometry():
    unit = ConvRecurrentUnit(4, 2, 8, num_layers=2, cell="indrnn")
    assert [c[1].kernel_size for c in unit.convs] == [(5, 5), (3, 3)]
    assert [c[1].dilation for c in unit.convs] == [(1, 1), (2, 2)]
    assert all(isinstance(c[0], torch.nn.ReplicationPad2d) for c in [*unit.convs, unit.out_conv])
    assert unit.out_conv[1].bias is None and unit.out_conv[1].out_channels == 2


def test_errors(physics):
    kspace, mask, sens = physics
    with pytest.raises(ValueError, match="`cell` must be one of"):
        RIM(cell="lstm")
    with pytest.raises(ValueError, match="`num_steps` must be a positive int"):
        RIM(num_steps=0)
    with pytest.raises(ValueError, match="`sigma` must be a positive number"):
        RIM(sigma=-1.0)
    with pytest.raises(ValueError, match="`hidden_channels` must be a positive int"):
        RIM(hidden_channels=0)
    with pytest.raises(ValueError, match="`num_cascades` must be a positive int"):
        CIRIM(num_cascades=0)
    with pytest.raises(TypeError, match="`implicit_dc` must be a bool"):
        CIRIM(implicit_dc="yes")
    with pytest.raises(ValueError, match="`kernel_size` must be odd"):
        IndRNN(2, 2, kernel_size=2)
    net = RIM(hidden_channels=4, num_steps=1)
    with pytest.raises(TypeError, match="`masked_kspace` must be a complex tensor"):
        net(torch.view_as_real(kspace), mask, sens)
    with pytest.raises(ValueError, match="`mask` must broadcast"):
        net(kspace, torch.ones(1, 1, 1, W + 1), sens)
    with pytest.raises(ValueError, match="`sensitivity_maps` must have the k-space's shape"):
        net(kspace, mask, sens[:, :2])
    bad = kspace.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="`masked_kspace` must be finite"):
        net(bad, mask, sens)
    cell = IndRNN(3, 2)
    with pytest.raises(ValueError, match="`hidden` must have shape"):
        cell(torch.zeros(1, 3, 4, 5), torch.zeros(1, 3, 4, 5))
    with pytest.raises(ValueError, match=r"`x` must have shape \(B, 3, H, W\)"):
        cell(torch.zeros(1, 2, 4, 5), torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="`hidden` must hold 2 states"):
        net.unit(torch.zeros(1, 4, 5, 6), [torch.zeros(1, 4, 5, 6)])
