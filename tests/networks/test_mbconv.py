"""Tests for medpipe.networks.blocks.mbconv."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medpipe.networks.blocks.mbconv import MBConvBody, make_activation, make_norm


def test_mbconv_shape_and_dropout_flag():
    body = MBConvBody(3, 3, 4, 3, "instance", "silu", 0.25)
    x = torch.randn(2, 3, 5, 6, 7)
    assert body(x).shape == (2, 3, 5, 6, 7)
    assert body.uses_randomness()
    assert not body.eval().uses_randomness()
    assert not MBConvBody(3, 3, 4, 3, "instance", "silu", 0.0).uses_randomness()


def test_mbconv_parameter_count():
    c, e, k = 3, 4, 3
    body = MBConvBody(3, c, e, k, "instance", "silu", 0.0)
    h = e * c
    # expand (no bias) + instance norm affine + depthwise (no bias) + norm + project with bias
    assert sum(p.numel() for p in body.parameters()) == h * c + 2 * h + h * k**3 + 2 * h + h * c + c
    with_bias = MBConvBody(2, c, e, k, "none", "relu", 0.0)
    assert sum(p.numel() for p in with_bias.parameters()) == (h * c + h) + (h * k**2 + h) + (h * c + c)


@pytest.mark.parametrize("norm, cls", [("instance", nn.InstanceNorm3d), ("group", nn.GroupNorm), ("layer", nn.GroupNorm), ("none", nn.Identity)])
def test_make_norm(norm, cls):
    layer = make_norm(norm, 3, 12)
    assert isinstance(layer, cls)
    assert not any(isinstance(b, torch.Tensor) and b.numel() for b in layer.buffers())  # no running stats
    if norm == "group":
        assert layer.num_groups == 6


def test_make_norm_refuses_batch_with_reason():
    with pytest.raises(ValueError, match=r"`norm` must be one of .*got 'batch'.*running statistics"):
        make_norm("batch", 3, 8)
    with pytest.raises(ValueError, match=r"`norm` must be one of .*got 'instanse'"):
        make_norm("instanse", 3, 8)


def test_make_activation_refuses_unknown():
    assert isinstance(make_activation("relu6"), nn.ReLU6)
    with pytest.raises(ValueError, match=r"`act` must be one of .*got 'gelu'"):
        make_activation("gelu")
