"""The mobile inverted bottleneck (MBConv) body used as F and G inside a reversible coupling.

The body follows MobileNetV2 (Sandler et al., 2018) as used in the reversible 3D U-Net of
"Memory Efficient 3D U-Net with Reversible Mobile Inverted Bottlenecks for Brain Tumor
Segmentation" (Pendse et al., 2020)::

    1x1 expand (c -> e*c) -> norm -> act -> depthwise k^d (e*c) -> norm -> act
        -> dropout -> 1x1 linear projection (e*c -> c)

There is no residual connection inside the body: in the reversible coupling the additive
coupling ``y1 = x1 + F(x2)`` plays that role. The projection is linear (no norm, no activation),
as in MobileNetV2's "linear bottleneck".
"""

from __future__ import annotations

import torch
from torch import nn

NORMS = ("instance", "group", "layer", "none")
ACTIVATIONS = ("silu", "relu", "relu6", "leakyrelu")


def conv_type(spatial_dims: int) -> type[nn.Module]:
    """``nn.Conv2d`` or ``nn.Conv3d`` for ``spatial_dims`` 2 or 3."""
    return nn.Conv3d if spatial_dims == 3 else nn.Conv2d


def make_norm(norm: str, spatial_dims: int, channels: int) -> nn.Module:
    """A normalisation layer without running statistics.

    Args:
        norm: ``"instance"`` (per-channel, per-sample, with affine parameters), ``"group"``
            (GroupNorm with the largest divisor of ``channels`` that is at most 8 groups),
            ``"layer"`` (GroupNorm with one group) or ``"none"``.
        spatial_dims: 2 or 3.
        channels: number of channels normalised.

    Raises:
        ValueError: for a name not listed above; ``"batch"`` is refused with the reason.
    """
    if norm == "batch":
        raise ValueError(
            "`norm` must be one of "
            f"{NORMS}, got 'batch': BatchNorm's running statistics would be updated twice per "
            "step in a reversible network, because the backward pass re-runs every block's "
            "forward to rebuild its input; use 'instance' or 'group' instead"
        )
    if norm == "instance":
        cls = nn.InstanceNorm3d if spatial_dims == 3 else nn.InstanceNorm2d
        return cls(channels, affine=True, track_running_stats=False)
    if norm == "group":
        groups = max(g for g in range(1, 9) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if norm == "layer":
        return nn.GroupNorm(1, channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"`norm` must be one of {NORMS}, got {norm!r}")


def make_activation(act: str) -> nn.Module:
    """``nn.SiLU`` (EfficientNet's swish), ``nn.ReLU``, ``nn.ReLU6`` (MobileNetV2) or ``nn.LeakyReLU``."""
    if act == "silu":
        return nn.SiLU()
    if act == "relu":
        return nn.ReLU()
    if act == "relu6":
        return nn.ReLU6()
    if act == "leakyrelu":
        return nn.LeakyReLU(0.01)
    raise ValueError(f"`act` must be one of {ACTIVATIONS}, got {act!r}")


class MBConvBody(nn.Module):
    """The MBConv body without its residual: expand, depthwise, project.

    Args:
        spatial_dims: 2 or 3.
        channels: input and output channels ``c``.
        expansion: width multiplier ``e`` of the hidden layer (``e * c`` channels).
        kernel_size: odd size ``k`` of the depthwise convolution (``k^d`` taps, 'same' padding).
        norm: see :func:`make_norm`.
        act: see :func:`make_activation`.
        dropout: probability of the element-wise dropout placed after the second activation,
            just before the projection (where EfficientNet places its head dropout relative to
            a linear layer); ``0`` disables it.

    Convolutions followed by a normalisation carry no bias (the norm's shift replaces it);
    with ``norm="none"`` every convolution has a bias. Parameters, with ``h = e * c``::

        expand h*c (+h)  + norm 2h  + depthwise h*k^d (+h)  + norm 2h  + project h*c + c

    Shapes:
        ``float (B, c, *spatial)`` -> ``float (B, c, *spatial)``, same dtype and device.
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: int,
        expansion: int,
        kernel_size: int,
        norm: str,
        act: str,
        dropout: float,
    ) -> None:
        super().__init__()
        conv = conv_type(spatial_dims)
        hidden = channels * expansion
        bias = norm == "none"
        self.expand = conv(channels, hidden, 1, bias=bias)
        self.norm1 = make_norm(norm, spatial_dims, hidden)
        self.act1 = make_activation(act)
        self.depthwise = conv(
            hidden, hidden, kernel_size, padding=kernel_size // 2, groups=hidden, bias=bias
        )
        self.norm2 = make_norm(norm, spatial_dims, hidden)
        self.act2 = make_activation(act)
        self.dropout = nn.Dropout(dropout)
        self.project = conv(hidden, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.norm1(self.expand(x)))
        x = self.act2(self.norm2(self.depthwise(x)))
        return self.project(self.dropout(x))

    def uses_randomness(self) -> bool:
        """Whether a forward call draws random numbers (dropout active in training mode)."""
        return self.training and self.dropout.p > 0
