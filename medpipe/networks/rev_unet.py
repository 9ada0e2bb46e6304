"""RevUNet: a U-Net whose levels are stacks of reversible MBConv couplings.

After "Memory Efficient 3D U-Net with Reversible Mobile Inverted Bottlenecks for Brain Tumor
Segmentation" (Pendse et al., BrainLes 2020). The paper publishes no code and no exact widths,
so every width and depth is a constructor argument; the defaults here are medpipe's choices.

Layout for ``L = len(channels)`` levels (``C_i = channels[i]``, ``N_i = blocks_per_level[i]``)::

    stem      k^d conv, in_channels -> C_0
    encoder   level 0: N_0 couplings at C_0
              level i > 0: down (depthwise 2^d stride-2 conv, or 2^d max pool), 1x1 widen
                           C_{i-1} -> C_i, then N_i couplings at C_i
    decoder   for i = L-2 .. 0: up (depthwise 2^d stride-2 transposed conv, or multilinear
              x2 interpolation), 1x1 narrow C_{i+1} -> C_i, skip (add, or concatenate then
              1x1 fuse 2 C_i -> C_i), then N_i couplings at C_i
    head      1x1 conv C_0 -> out_channels (logits)

Each coupling is ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)`` with F and G MBConv bodies on
``C_i / 2`` channels (:mod:`medpipe.networks.blocks`). Only the couplings are reversible;
sampling, skips, stem and head are ordinary layers, and the skip tensors are stored normally.

Parameter count (``d`` = spatial_dims, ``e`` = expansion, ``k`` = kernel_size, norm with
affine parameters, so no conv bias before a norm; ``c = C_i / 2``, ``h = e c``)::

    body(c)    = 2 h c + c + h k^d + 4 h          (expand, project + bias, depthwise, two norms)
    coupling   = 2 body(c)
    stem       = in C_0 k^d + C_0;   head = C_0 out + out
    down_i     = [C_{i-1} 2^d + C_{i-1} if strided] + C_{i-1} C_i + C_i
    up_i       = [C_{i+1} 2^d + C_{i+1} if transpose] + C_{i+1} C_i + C_i
    fuse_i     = 2 C_i C_i + C_i if skip == "concat"

Input sizes must be multiples of ``2^(L-1)`` on every spatial axis (each level halves them).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medpipe.networks.blocks.mbconv import ACTIVATIONS, NORMS, MBConvBody, conv_type, make_norm
from medpipe.networks.blocks.reversible import ReversibleCoupling, ReversibleStack

DOWNSAMPLES = ("strided", "pool")
UPSAMPLES = ("transpose", "trilinear")
SKIPS = ("add", "concat")


def _stack(
    spatial_dims: int,
    channels: int,
    blocks: int,
    expansion: int,
    kernel_size: int,
    norm: str,
    act: str,
    dropout: float,
    reversible: bool,
) -> ReversibleStack:
    def body() -> MBConvBody:
        return MBConvBody(spatial_dims, channels // 2, expansion, kernel_size, norm, act, dropout)

    return ReversibleStack([ReversibleCoupling(body(), body()) for _ in range(blocks)], reversible)


class _EncoderLevel(nn.Module):
    def __init__(self, down: nn.Module, stack: ReversibleStack) -> None:
        super().__init__()
        self.down = down
        self.stack = stack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack(self.down(x))


class _DecoderLevel(nn.Module):
    def __init__(self, up: nn.Module, fuse: nn.Module | None, stack: ReversibleStack) -> None:
        super().__init__()
        self.up = up
        self.fuse = fuse
        self.stack = stack

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        fuse = self.fuse
        if fuse is None:
            x = x + skip
        else:
            x = fuse(torch.cat([x, skip], dim=1))
        return self.stack(x)


class RevUNet(nn.Module):
    """U-Net of reversible MBConv couplings that trains with little activation memory.

    Args:
        spatial_dims: 3 for volumes, 2 for images.
        in_channels: input channels (4 for T1, T1ce, T2, FLAIR).
        out_channels: output channels (logits), e.g. 3 for the BraTS regions TC, WT, ET.
        channels: width of each level, shallowest first; each must be even (the coupling
            splits channels in half). ``len(channels)`` is the number of levels ``L``.
        blocks_per_level: couplings in each level's stack, ``len(channels)`` entries, each at
            least 1; the decoder level ``i`` has as many as encoder level ``i``.
        expansion: hidden width multiplier of the MBConv bodies.
        kernel_size: odd size of the depthwise convolution (and of the stem convolution).
        norm: ``"instance"``, ``"group"``, ``"layer"`` or ``"none"``; ``"batch"`` is refused
            because the reversible backward re-runs each block, which would update BatchNorm's
            running statistics twice.
        act: ``"silu"``, ``"relu"``, ``"relu6"`` or ``"leakyrelu"``.
        dropout: element-wise dropout probability inside each MBConv body, after the second
            activation and before the projection. The random state is replayed exactly in the
            reversible backward.
        reversible: train with the memory-saving inverted backward (True) or with ordinary
            autograd (False, the ablation twin with identical parameters and state_dict keys).
        downsample: ``"strided"`` (depthwise 2^d convolution with stride 2) or ``"pool"``
            (2^d max pooling), each followed by a 1x1 widening convolution.
        upsample: ``"transpose"`` (depthwise 2^d transposed convolution with stride 2) or
            ``"trilinear"`` (multilinear x2 interpolation; bilinear when ``spatial_dims=2``),
            each followed by a 1x1 narrowing convolution.
        skip: ``"add"`` (upsampled + skip) or ``"concat"`` (concatenate, then 1x1 fuse).

    Shapes:
        ``x: float (B, in_channels, *spatial)`` with every spatial size a multiple of
        ``2^(L-1)``; returns ``float (B, out_channels, *spatial)`` logits of the same dtype.

    Raises:
        ValueError: for invalid arguments, or in ``forward`` for an input of the wrong rank,
            channel count or spatial size.
    """

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 4,
        out_channels: int = 3,
        channels: Sequence[int] = (16, 32, 64, 128),
        blocks_per_level: Sequence[int] = (2, 2, 2, 2),
        expansion: int = 4,
        kernel_size: int = 3,
        norm: str = "instance",
        act: str = "silu",
        dropout: float = 0.0,
        reversible: bool = True,
        downsample: str = "strided",
        upsample: str = "transpose",
        skip: str = "add",
    ) -> None:
        super().__init__()
        channels = tuple(channels)
        blocks_per_level = tuple(blocks_per_level)
        _validate(
            spatial_dims, in_channels, out_channels, channels, blocks_per_level, expansion,
            kernel_size, norm, act, dropout, reversible, downsample, upsample, skip,
        )
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.blocks_per_level = blocks_per_level
        self.size_multiple = 2 ** (len(channels) - 1)
        conv = conv_type(spatial_dims)

        def stack(level: int) -> ReversibleStack:
            return _stack(
                spatial_dims, channels[level], blocks_per_level[level], expansion, kernel_size,
                norm, act, dropout, reversible,
            )

        self.stem = conv(in_channels, channels[0], kernel_size, padding=kernel_size // 2)
        encoder = [_EncoderLevel(nn.Identity(), stack(0))]
        for i in range(1, len(channels)):
            wide, narrow = channels[i], channels[i - 1]
            if downsample == "strided":
                reduce: nn.Module = conv(narrow, narrow, 2, stride=2, groups=narrow)
            else:
                reduce = (nn.MaxPool3d if spatial_dims == 3 else nn.MaxPool2d)(2)
            encoder.append(_EncoderLevel(nn.Sequential(reduce, conv(narrow, wide, 1)), stack(i)))
        self.encoder = nn.ModuleList(encoder)

        decoder = []
        for i in reversed(range(len(channels) - 1)):
            wide, narrow = channels[i + 1], channels[i]
            if upsample == "transpose":
                transposed = nn.ConvTranspose3d if spatial_dims == 3 else nn.ConvTranspose2d
                expand: nn.Module = transposed(wide, wide, 2, stride=2, groups=wide)
            else:
                mode = "trilinear" if spatial_dims == 3 else "bilinear"
                expand = nn.Upsample(scale_factor=2, mode=mode, align_corners=False)
            fuse = conv(2 * narrow, narrow, 1) if skip == "concat" else None
            decoder.append(_DecoderLevel(nn.Sequential(expand, conv(wide, narrow, 1)), fuse, stack(i)))
        self.decoder = nn.ModuleList(decoder)
        self.head = conv(channels[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``float (B, out_channels, *spatial)`` for ``x: float (B, in_channels, *spatial)``."""
        if not torch.jit.is_tracing():
            self._check_input(x)
        h = self.stem(x)
        skips: list[torch.Tensor] = []
        for level in self.encoder:
            h = level(h)
            skips.append(h)
        skips.pop()
        for level in self.decoder:
            h = level(h, skips.pop())
        return self.head(h)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != self.spatial_dims + 2:
            raise ValueError(
                f"`x` must have {self.spatial_dims + 2} dimensions (B, C, *spatial) for "
                f"spatial_dims={self.spatial_dims}, got shape {list(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"`x` must have {self.in_channels} channels (in_channels), got shape {list(x.shape)}"
            )
        multiple = self.size_multiple
        for size in x.shape[2:]:
            if size % multiple != 0:
                raise ValueError(
                    f"`x` spatial sizes must be multiples of {multiple} (2^(levels-1) for "
                    f"{len(self.channels)} levels), got shape {list(x.shape)}; pad or crop the "
                    f"input, e.g. a sliding window with a roi size that is a multiple of {multiple}"
                )


def _validate(
    spatial_dims, in_channels, out_channels, channels, blocks_per_level, expansion,
    kernel_size, norm, act, dropout, reversible, downsample, upsample, skip,
) -> None:
    def positive_int(name: str, value) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}")

    if spatial_dims not in (2, 3) or isinstance(spatial_dims, bool):
        raise ValueError(f"`spatial_dims` must be 2 or 3, got {spatial_dims!r}")
    positive_int("in_channels", in_channels)
    positive_int("out_channels", out_channels)
    positive_int("expansion", expansion)
    if not channels:
        raise ValueError(f"`channels` must list at least one level width, got {channels!r}")
    for width in channels:
        if isinstance(width, bool) or not isinstance(width, int) or width < 2 or width % 2:
            raise ValueError(
                f"`channels` must hold even integers >= 2 (the coupling splits channels in "
                f"half), got {channels!r}"
            )
    if len(blocks_per_level) != len(channels):
        raise ValueError(
            f"`blocks_per_level` must have one entry per level ({len(channels)} for channels="
            f"{channels!r}), got {blocks_per_level!r}"
        )
    for count in blocks_per_level:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"`blocks_per_level` must hold integers >= 1, got {blocks_per_level!r}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"`kernel_size` must be a positive odd integer, got {kernel_size!r}")
    if norm not in NORMS:
        make_norm(norm, spatial_dims, 2)  # raises, explaining why "batch" is refused
    if act not in ACTIVATIONS:
        raise ValueError(f"`act` must be one of {ACTIVATIONS}, got {act!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a probability in [0, 1), got {dropout!r}")
    if not isinstance(reversible, bool):
        raise ValueError(f"`reversible` must be True or False, got {reversible!r}")
    if downsample not in DOWNSAMPLES:
        raise ValueError(f"`downsample` must be one of {DOWNSAMPLES}, got {downsample!r}")
    if upsample not in UPSAMPLES:
        raise ValueError(f"`upsample` must be one of {UPSAMPLES}, got {upsample!r}")
    if skip not in SKIPS:
        raise ValueError(f"`skip` must be one of {SKIPS}, got {skip!r}")
