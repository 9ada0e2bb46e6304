"""Tests for medpipe.networks.rev_unet.RevUNet."""

from __future__ import annotations

import pytest
import torch

from medpipe.networks.rev_unet import RevUNet

SMALL = {"channels": (4, 6, 8), "blocks_per_level": (1, 1, 1), "expansion": 2}


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (2, 4, 12, 8, 20)),
        ({"skip": "concat", "upsample": "trilinear", "downsample": "pool"}, (1, 4, 20, 12, 8)),
        ({"norm": "group", "act": "relu6", "kernel_size": 5}, (1, 4, 8, 16, 12)),
        ({"spatial_dims": 2, "norm": "layer", "upsample": "trilinear"}, (3, 4, 12, 20)),
        ({"spatial_dims": 2, "norm": "none", "skip": "concat", "channels": (4, 6), "blocks_per_level": (2, 1)}, (1, 4, 10, 6)),
    ],
)
def test_output_shape_and_dtype(kwargs, shape):
    torch.manual_seed(0)
    model = RevUNet(**{**SMALL, "out_channels": 3, **kwargs})
    x = torch.randn(*shape)
    y = model(x)
    assert y.shape == (shape[0], 3, *shape[2:])
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def _gradients(model: RevUNet, x: torch.Tensor, weight: torch.Tensor, seed: int):
    model.zero_grad()
    leaf = x.clone().requires_grad_(True)
    torch.manual_seed(seed)
    out = model(leaf)
    (out * weight).sum().backward()
    named = {name: p.grad.clone() for name, p in model.named_parameters()}
    return out.detach(), leaf.grad, named


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels": (4, 6), "blocks_per_level": (1, 1)},
        {"channels": (4, 6, 8), "blocks_per_level": (3, 2, 2), "skip": "concat"},
    ],
    ids=["depth1", "depth3"],
)
def test_gradients_equal_the_twin_with_dropout(kwargs):
    torch.manual_seed(0)
    reversible = RevUNet(**{**SMALL, **kwargs, "dropout": 0.2}).double()
    twin = RevUNet(**{**SMALL, **kwargs, "dropout": 0.2, "reversible": False}).double()
    twin.load_state_dict(reversible.state_dict())
    x = torch.randn(2, 4, 8, 12, 4, dtype=torch.float64)
    weight = torch.randn(2, 3, 8, 12, 4, dtype=torch.float64)
    out_r, grad_r, params_r = _gradients(reversible, x, weight, seed=11)
    out_t, grad_t, params_t = _gradients(twin, x, weight, seed=11)
    torch.testing.assert_close(out_r, out_t, rtol=1e-10, atol=1e-12)
    # dropout really is on: another seed gives another output
    torch.manual_seed(12)
    assert (twin(x) - out_t).abs().max() > 1e-3
    assert _relative_error(grad_r, grad_t) < 1e-5
    assert params_r.keys() == params_t.keys()
    kinds = {"norm": 0, "depthwise": 0, "expand": 0, "project": 0}
    for name in params_t:
        assert _relative_error(params_r[name], params_t[name]) < 1e-5, name
        for kind in kinds:
            kinds[kind] += kind in name
    assert all(count > 0 for count in kinds.values())  # weights and norm parameters were all compared


def test_reversible_training_step_takes_the_inverting_path():
    model = RevUNet(**SMALL)
    stack_outputs = []
    for level in model.encoder:
        level.stack.register_forward_hook(lambda module, args, out: stack_outputs.append(out))
    model(torch.randn(1, 4, 8, 12, 4)).sum().backward()
    assert {type(o.grad_fn).__name__ for o in stack_outputs} == {"_ReversibleStackFunctionBackward"}


def test_twin_has_identical_parameters_and_keys():
    reversible = RevUNet(channels=(4, 8, 12), blocks_per_level=(2, 3, 1), skip="concat")
    twin = RevUNet(channels=(4, 8, 12), blocks_per_level=(2, 3, 1), skip="concat", reversible=False)
    assert _count(reversible) == _count(twin)
    assert list(reversible.state_dict()) == list(twin.state_dict())
    assert [p.shape for p in reversible.parameters()] == [p.shape for p in twin.parameters()]


def _formula(in_ch, out_ch, channels, blocks, e, k, d, strided=True, transpose=True, concat=False):
    """The parameter count in the rev_unet module docstring, written independently of the code."""

    def body(c):
        h = e * c
        return 2 * h * c + c + h * k**d + 4 * h

    total = in_ch * channels[0] * k**d + channels[0] + channels[0] * out_ch + out_ch
    for i, (width, n) in enumerate(zip(channels, blocks)):
        stacks = 1 if i == len(channels) - 1 else 2  # encoder and decoder, bottom once
        total += stacks * n * 2 * body(width // 2)
    for narrow, wide in zip(channels[:-1], channels[1:]):
        total += (narrow * 2**d + narrow if strided else 0) + narrow * wide + wide
        total += (wide * 2**d + wide if transpose else 0) + wide * narrow + narrow
        total += 2 * narrow * narrow + narrow if concat else 0
    return total


def test_parameter_count_default_configuration():
    # Hand calculation for the defaults (channels 16/32/64/128, 2 couplings per level, e=4, k=3):
    #   body(c) = 8c^2 + 125c -> 1512, 4048, 12192, 40768 for c = 8, 16, 32, 64
    #   bodies: 8*1512 + 8*4048 + 8*12192 + 4*40768 = 305088
    #   stem 4*16*27+16 = 1744, head 16*3+3 = 51
    #   down 144+544 + 288+2112 + 576+8320 = 11984, up 288+528 + 576+2080 + 1152+8256 = 12880
    #   total 305088 + 1744 + 51 + 11984 + 12880 = 331747
    assert _count(RevUNet()) == 331747
    assert _formula(4, 3, (16, 32, 64, 128), (2, 2, 2, 2), 4, 3, 3) == 331747


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels": (4, 8, 12), "blocks_per_level": (2, 3, 1), "expansion": 3, "kernel_size": 5, "skip": "concat"},
        {"spatial_dims": 2, "channels": (6, 10), "blocks_per_level": (1, 4), "downsample": "pool", "upsample": "trilinear"},
    ],
)
def test_parameter_count_formula(kwargs):
    model = RevUNet(**kwargs)
    expected = _formula(
        4, 3, kwargs["channels"], kwargs["blocks_per_level"], kwargs.get("expansion", 4),
        kwargs.get("kernel_size", 3), kwargs.get("spatial_dims", 3),
        strided=kwargs.get("downsample", "strided") == "strided",
        transpose=kwargs.get("upsample", "transpose") == "transpose",
        concat=kwargs.get("skip", "add") == "concat",
    )
    assert _count(model) == expected


def test_torchscript_matches_eager():
    torch.manual_seed(0)
    model = RevUNet(**SMALL, skip="concat").eval()
    x = torch.randn(1, 4, 8, 12, 4)
    scripted = torch.jit.script(model)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))
    with pytest.raises(Exception, match="multiples of 4"):
        scripted(torch.randn(1, 4, 8, 12, 6))


def test_eval_without_grad_equals_training_path_output():
    torch.manual_seed(0)
    model = RevUNet(**SMALL).eval()
    x = torch.randn(1, 4, 4, 8, 12)
    with torch.no_grad():
        plain = model(x)
    torch.testing.assert_close(model(x).detach(), plain, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 1}, r"`spatial_dims` must be 2 or 3, got 1"),
        ({"in_channels": 0}, r"`in_channels` must be a positive integer, got 0"),
        ({"out_channels": 2.5}, r"`out_channels` must be a positive integer, got 2.5"),
        ({"expansion": 0}, r"`expansion` must be a positive integer, got 0"),
        ({"channels": ()}, r"`channels` must list at least one level width"),
        ({"channels": (4, 7), "blocks_per_level": (1, 1)}, r"`channels` must hold even integers.*in half.*\(4, 7\)"),
        ({"channels": (4, 8), "blocks_per_level": (1,)}, r"`blocks_per_level` must have one entry per level \(2"),
        ({"channels": (4, 8), "blocks_per_level": (1, 0)}, r"`blocks_per_level` must hold integers >= 1, got \(1, 0\)"),
        ({"kernel_size": 4}, r"`kernel_size` must be a positive odd integer, got 4"),
        ({"norm": "batch"}, r"`norm` must be one of .*got 'batch'.*running statistics would be updated twice"),
        ({"norm": "foo"}, r"`norm` must be one of .*got 'foo'"),
        ({"act": "tanh"}, r"`act` must be one of .*got 'tanh'"),
        ({"dropout": 1.0}, r"`dropout` must be a probability in \[0, 1\), got 1.0"),
        ({"reversible": "yes"}, r"`reversible` must be True or False, got 'yes'"),
        ({"downsample": "avg"}, r"`downsample` must be one of \('strided', 'pool'\), got 'avg'"),
        ({"upsample": "nearest"}, r"`upsample` must be one of \('transpose', 'trilinear'\), got 'nearest'"),
        ({"skip": "none"}, r"`skip` must be one of \('add', 'concat'\), got 'none'"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RevUNet(**kwargs)


@pytest.mark.parametrize(
    "shape, match",
    [
        ((4, 8, 8, 8), r"`x` must have 5 dimensions \(B, C, \*spatial\) for spatial_dims=3, got shape \[4, 8, 8, 8\]"),
        ((1, 3, 8, 8, 8), r"`x` must have 4 channels \(in_channels\), got shape \[1, 3, 8, 8, 8\]"),
        ((1, 4, 8, 12, 6), r"`x` spatial sizes must be multiples of 4 \(2\^\(levels-1\) for 3 levels\), got shape \[1, 4, 8, 12, 6\]"),
    ],
)
def test_invalid_input(shape, match):
    model = RevUNet(**SMALL)
    with pytest.raises(ValueError, match=match):
        model(torch.randn(*shape))
