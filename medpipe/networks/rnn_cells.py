"""Convolutional recurrent cells for recurrent inference machines: GRU, MGU and IndRNN.

Every cell maps ``(input (B, in_channels, H, W), hidden (B, hidden_channels, H, W))`` to the new hidden
state ``(B, hidden_channels, H, W)``; the new hidden state is also the cell's output. The input-to-hidden
convolutions carry the bias, the hidden-to-hidden ones do not, so that the parameter counts match the
RIM/CIRIM reference configurations (Karkalousos et al., 2022, "Reconstructing unseen modalities and
pathology with an efficient Recurrent Inference Machine").
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvGRU", "ConvMGU", "IndRNN"]


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}")


def _same_conv(in_channels: int, out_channels: int, kernel_size: int, dilation: int, bias: bool) -> nn.Conv2d:
    """A 2D convolution whose zero padding keeps the spatial size (odd kernels)."""
    _check_positive("kernel_size", kernel_size)
    _check_positive("dilation", dilation)
    if kernel_size % 2 == 0:
        raise ValueError(f"`kernel_size` must be odd so that the spatial size is kept, got {kernel_size}")
    return nn.Conv2d(
        in_channels, out_channels, kernel_size, padding=dilation * (kernel_size - 1) // 2, dilation=dilation, bias=bias
    )


class _ConvCell(nn.Module):
    """Shared argument checks and hidden-state validation of the convolutional cells."""

    def __init__(self, in_channels: int, hidden_channels: int) -> None:
        super().__init__()
        _check_positive("in_channels", in_channels)
        _check_positive("hidden_channels", hidden_channels)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels

    def initial_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Zero hidden state for input ``x`` (B, in_channels, H, W): float (B, hidden_channels, H, W)."""
        return x.new_zeros((x.shape[0], self.hidden_channels, *x.shape[2:]))

    def _check(self, x: torch.Tensor, hidden: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"`x` must have shape (B, {self.in_channels}, H, W), got {tuple(x.shape)} "
                f"in {type(self).__name__}"
            )
        expected = (x.shape[0], self.hidden_channels, *x.shape[2:])
        if tuple(hidden.shape) != expected:
            raise ValueError(f"`hidden` must have shape {expected}, got {tuple(hidden.shape)} in {type(self).__name__}")


class ConvGRU(_ConvCell):
    r"""Convolutional gated recurrent unit (Cho et al., 2014).

    .. math::
        r = \sigma(W_{r} * x + U_{r} * h),\quad z = \sigma(W_{z} * x + U_{z} * h),\\
        n = \tanh(W_{n} * x + r \odot (U_{n} * h)),\quad h' = (1 - z) \odot n + z \odot h.

    With ``reset_after=False`` the reset gate acts before the hidden convolution,
    :math:`n = \tanh(W_n * x + U_n * (r \odot h))`, and :math:`h' = (1 - z) \odot h + z \odot n`: the form
    used by the DIRECT Recurrent VarNet regulariser. Both forms have the same parameters.

    Args:
        in_channels: channels of the input ``x``.
        hidden_channels: channels of the hidden state.
        kernel_size: odd kernel size of the gate convolutions (the references use 1).
        dilation: dilation of the gate convolutions.
        reset_after: where the reset gate acts, see above.
    """

    def __init__(
        self, in_channels: int, hidden_channels: int, kernel_size: int = 1, dilation: int = 1, reset_after: bool = True
    ) -> None:
        super().__init__(in_channels, hidden_channels)
        self.reset_after = bool(reset_after)
        self.input_gates = _same_conv(in_channels, 3 * hidden_channels, kernel_size, dilation, bias=True)
        self.hidden_gates = _same_conv(hidden_channels, 2 * hidden_channels, kernel_size, dilation, bias=False)
        self.hidden_candidate = _same_conv(hidden_channels, hidden_channels, kernel_size, dilation, bias=False)
        for conv in (self.input_gates, self.hidden_gates, self.hidden_candidate):
            nn.init.orthogonal_(conv.weight)
        nn.init.zeros_(self.input_gates.bias)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """One step.

        Args:
            x: float (B, in_channels, H, W).
            hidden: float (B, hidden_channels, H, W).

        Returns:
            The new hidden state, float (B, hidden_channels, H, W).
        """
        self._check(x, hidden)
        x_r, x_z, x_n = self.input_gates(x).chunk(3, dim=1)
        h_r, h_z = self.hidden_gates(hidden).chunk(2, dim=1)
        reset = torch.sigmoid(x_r + h_r)
        update = torch.sigmoid(x_z + h_z)
        if self.reset_after:
            candidate = torch.tanh(x_n + reset * self.hidden_candidate(hidden))
            return (1 - update) * candidate + update * hidden
        candidate = torch.tanh(x_n + self.hidden_candidate(reset * hidden))
        return (1 - update) * hidden + update * candidate


class ConvMGU(_ConvCell):
    r"""Convolutional minimal gated unit (Zhou et al., 2016): a GRU with a single forget gate.

    .. math::
        f = \sigma(W_f * x + U_f * h),\quad c = \tanh(W_c * x + f \odot (U_c * h)),\quad
        h' = (1 - f) \odot c + f \odot h.

    Args:
        in_channels: channels of the input ``x``.
        hidden_channels: channels of the hidden state.
        kernel_size: odd kernel size of the gate convolutions (the references use 1).
        dilation: dilation of the gate convolutions.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 1, dilation: int = 1) -> None:
        super().__init__(in_channels, hidden_channels)
        self.input_gates = _same_conv(in_channels, 2 * hidden_channels, kernel_size, dilation, bias=True)
        self.hidden_gates = _same_conv(hidden_channels, 2 * hidden_channels, kernel_size, dilation, bias=False)
        nn.init.orthogonal_(self.input_gates.weight)
        nn.init.orthogonal_(self.hidden_gates.weight)
        nn.init.zeros_(self.input_gates.bias)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """One step.

        Args:
            x: float (B, in_channels, H, W).
            hidden: float (B, hidden_channels, H, W).

        Returns:
            The new hidden state, float (B, hidden_channels, H, W).
        """
        self._check(x, hidden)
        x_f, x_c = self.input_gates(x).chunk(2, dim=1)
        h_f, h_c = self.hidden_gates(hidden).chunk(2, dim=1)
        forget = torch.sigmoid(x_f + h_f)
        candidate = torch.tanh(x_c + forget * h_c)
        return (1 - forget) * candidate + forget * hidden


class IndRNN(_ConvCell):
    r"""Convolutional independently recurrent cell (Li et al., 2018).

    Each hidden channel recurs only on itself through an element-wise weight :math:`u`:

    .. math:: h' = \operatorname{ReLU}(W * x + b + u \odot h).

    Args:
        in_channels: channels of the input ``x``.
        hidden_channels: channels of the hidden state.
        kernel_size: odd kernel size of the input convolution (the references use 1).
        dilation: dilation of the input convolution.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 1, dilation: int = 1) -> None:
        super().__init__(in_channels, hidden_channels)
        self.input_conv = _same_conv(in_channels, hidden_channels, kernel_size, dilation, bias=True)
        # Small initial weights keep the recurrence |u| < 1 (stable) at the start of training, as in the reference.
        std = 1.0 / (hidden_channels * (1 + kernel_size**2))
        self.recurrent_weight = nn.Parameter(torch.randn(1, hidden_channels, 1, 1) * std)
        nn.init.normal_(self.input_conv.weight, std=std)
        nn.init.zeros_(self.input_conv.bias)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """One step.

        Args:
            x: float (B, in_channels, H, W).
            hidden: float (B, hidden_channels, H, W).

        Returns:
            The new hidden state, float (B, hidden_channels, H, W).
        """
        self._check(x, hidden)
        return torch.relu(self.input_conv(x) + self.recurrent_weight * hidden)


CELLS: dict[str, type[_ConvCell]] = {"gru": ConvGRU, "mgu": ConvMGU, "indrnn": IndRNN}


def _replication_conv(in_channels: int, out_channels: int, kernel_size: int, dilation: int, bias: bool) -> nn.Sequential:
    """Replication padding then an unpadded convolution: same spatial size, no zero border."""
    return nn.Sequential(
        nn.ReplicationPad2d(dilation * (kernel_size - 1) // 2),
        nn.Conv2d(in_channels, out_channels, kernel_size, dilation=dilation, bias=bias),
    )


class ConvRecurrentUnit(nn.Module):
    """The recurrent unit of a RIM block or a Recurrent VarNet block.

    ``num_layers`` times [convolution -> ReLU -> recurrent cell], then a 3x3 convolution to ``out_channels``.
    The first convolution is 5x5, the second 3x3 with dilation 2, any further ones 3x3; all use replication
    padding (Lonning et al., 2019; Karkalousos et al., 2022; Yiasemis et al., 2022).

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (2 for one complex image).
        hidden_channels: channels of every convolution and hidden state.
        num_layers: number of [convolution -> cell] layers.
        cell: ``"gru"``, ``"mgu"`` or ``"indrnn"``.
        out_bias: whether the output convolution has a bias (RIM: no; Recurrent VarNet: yes).
        hidden_activation: apply ReLU to each cell's output before the next convolution (DIRECT's ConvGRU).
        gru_reset_after: ``reset_after`` of the :class:`ConvGRU` cells.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        num_layers: int = 2,
        cell: str = "gru",
        out_bias: bool = False,
        hidden_activation: bool = False,
        gru_reset_after: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("hidden_channels", hidden_channels),
            ("num_layers", num_layers),
        ):
            _check_positive(name, value)
        if not isinstance(cell, str) or cell.lower() not in CELLS:
            raise ValueError(f"`cell` must be one of {sorted(CELLS)}, got {cell!r}")
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.hidden_activation = hidden_activation
        cell_class = CELLS[cell.lower()]
        self.convs = nn.ModuleList()
        self.cells = nn.ModuleList()
        channels = in_channels
        for layer in range(num_layers):
            kernel_size, dilation = (5, 1) if layer == 0 else (3, 2 if layer == 1 else 1)
            conv = _replication_conv(channels, hidden_channels, kernel_size, dilation, bias=True)
            nn.init.kaiming_normal_(conv[1].weight, nonlinearity="relu")
            nn.init.zeros_(conv[1].bias)
            self.convs.append(conv)
            extra = {"reset_after": gru_reset_after} if cell_class is ConvGRU else {}
            self.cells.append(cell_class(hidden_channels, hidden_channels, **extra))
            channels = hidden_channels
        self.out_conv = _replication_conv(hidden_channels, out_channels, 3, 1, bias=out_bias)

    def initial_hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Zero hidden states for input ``x`` (B, in_channels, H, W): ``num_layers`` x (B, hidden, H, W)."""
        return [x.new_zeros((x.shape[0], self.hidden_channels, *x.shape[2:])) for _ in range(self.num_layers)]

    def forward(
        self, x: torch.Tensor, hidden: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One recurrent step.

        Args:
            x: float (B, in_channels, H, W).
            hidden: ``num_layers`` hidden states, float (B, hidden_channels, H, W) each; zeros when None.

        Returns:
            The output, float (B, out_channels, H, W), and the new hidden states.
        """
        if hidden is None:
            hidden = self.initial_hidden(x)
        if len(hidden) != self.num_layers:
            raise ValueError(f"`hidden` must hold {self.num_layers} states, got {len(hidden)}")
        new_hidden = []
        for conv, cell, state in zip(self.convs, self.cells, hidden):
            x = cell(torch.relu(conv(x)), state)
            new_hidden.append(x)
            if self.hidden_activation:
                x = torch.relu(x)
        return self.out_conv(x), new_hidden
