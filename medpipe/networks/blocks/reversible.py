"""Reversible additive coupling and a stack of them that trains without storing activations.

The coupling (RevNet, Gomez et al., 2017, as used with MBConv bodies by Pendse et al., 2020)
splits the channels into halves ``x = [x1, x2]`` and computes::

    y1 = x1 + F(x2)          x2 = y2 - G(y1)
    y2 = x2 + G(y1)          x1 = y1 - F(x2)

The right-hand column is the exact inverse, so a stack of couplings does not need to keep its
intermediate activations for the backward pass: :class:`ReversibleStack` runs its forward under
``torch.no_grad`` and keeps only the stack's output; the backward rebuilds each block's input
from its output, from the last block to the first, re-runs F and G with gradients enabled and
back-propagates through them one block at a time. Activation memory of a stack is then that of
one block instead of that of all of them, at the price of one extra forward per block.

Dropout inside F and G draws random numbers; the CPU (and CUDA, for CUDA tensors) generator
state is recorded before each F and G call in the forward and restored for the re-run, inside
``torch.random.fork_rng`` so that the caller's random stream is left untouched.

On CPU with glibc's malloc, the resident size may not show the whole saving: glibc raises its
mmap threshold to the size of freed blocks (up to 32 MiB), after which freed activations stay in
the heap. Setting ``MALLOC_MMAP_THRESHOLD_=65536`` in the environment (or using jemalloc or
tcmalloc) lets the RSS follow the live tensors; ``benchmarks/revunet_memory.py`` measures both.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable


class ReversibleCoupling(nn.Module):
    """One additive coupling block ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)``.

    Args:
        f: module mapping ``(B, c, *spatial)`` to the same shape (the first residual function).
        g: module mapping ``(B, c, *spatial)`` to the same shape (the second residual function).

    Shapes:
        ``float (B, 2c, *spatial)`` -> ``float (B, 2c, *spatial)``.
    """

    def __init__(self, f: nn.Module, g: nn.Module) -> None:
        super().__init__()
        self.f = f
        self.g = g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = torch.chunk(x, 2, dim=1)
        y1 = x1 + self.f(x2)
        y2 = x2 + self.g(y1)
        return torch.cat([y1, y2], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """The input that produced ``y``: ``x2 = y2 - G(y1)``, ``x1 = y1 - F(x2)``.

        Exact up to floating-point rounding, as long as F and G are deterministic (dropout in
        eval mode, or the same random state as in the forward).
        """
        y1, y2 = torch.chunk(y, 2, dim=1)
        x2 = y2 - self.g(y1)
        x1 = y1 - self.f(x2)
        return torch.cat([x1, x2], dim=1)


def _uses_randomness(module: nn.Module) -> bool:
    check = getattr(module, "uses_randomness", None)
    if check is not None:
        return bool(check())
    return module.training and any(
        isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in module.modules()
    )


def _rng_state(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    cuda_state = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda_state


def _rerun(
    module: nn.Module,
    x: torch.Tensor,
    rng: tuple[torch.Tensor, torch.Tensor | None] | None,
    autocast: dict[str, Any],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Re-run ``module`` on a fresh leaf copy of ``x`` with grad on and the forward's RNG state."""
    devices = [x.device] if (rng is not None and rng[1] is not None) else []
    with torch.random.fork_rng(devices=devices, enabled=rng is not None):
        if rng is not None:
            torch.set_rng_state(rng[0])
            if rng[1] is not None:
                torch.cuda.set_rng_state(rng[1], x.device)
        with torch.enable_grad(), torch.autocast(**autocast):
            leaf = x.detach().requires_grad_(True)
            return leaf, module(leaf)


class _ReversibleStackFunction(torch.autograd.Function):
    """Forward through a list of couplings keeping only the output; backward by inversion.

    ``apply(x, blocks, *params)``: ``params`` are ``blocks.parameters()`` in order, so that autograd
    routes their gradients through this function (they are returned by ``backward`` rather than
    accumulated into ``.grad`` behind autograd's back, so ``torch.autograd.grad`` and hooks work).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, blocks: nn.ModuleList, *params: torch.Tensor) -> torch.Tensor:
        ctx.blocks = blocks
        ctx.rng = []
        device_type = x.device.type
        ctx.autocast = {
            "device_type": device_type,
            "enabled": torch.is_autocast_enabled(device_type),
            "dtype": torch.get_autocast_dtype(device_type),
        }
        with torch.no_grad():
            for block in blocks:
                x1, x2 = torch.chunk(x, 2, dim=1)
                rng_f = _rng_state(x.device) if _uses_randomness(block.f) else None
                y1 = x1 + block.f(x2)
                rng_g = _rng_state(x.device) if _uses_randomness(block.g) else None
                y2 = x2 + block.g(y1)
                del x1, x2
                x = torch.cat([y1, y2], dim=1)
                del y1, y2
                ctx.rng.append((rng_f, rng_g))
        ctx.save_for_backward(x)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: torch.Tensor):
        (y,) = ctx.saved_tensors
        blocks = ctx.blocks
        params = list(blocks.parameters())  # the order in which ``apply`` received them
        index = {id(p): i for i, p in enumerate(params)}
        grads: list[torch.Tensor | None] = [None] * len(params)

        def backprop(module: nn.Module, inputs: torch.Tensor, rng, grad_out: torch.Tensor):
            """Re-run ``module`` on ``inputs`` with grad, add its parameters' gradients for
            ``grad_out``, and return ``(dL/d inputs or None, module(inputs) detached)``."""
            leaf, out = _rerun(module, inputs, rng, ctx.autocast)
            module_params = [p for p in module.parameters() if p.requires_grad]
            found = torch.autograd.grad(out, [leaf, *module_params], grad_out, allow_unused=True)
            for p, grad in zip(module_params, found[1:]):
                if grad is not None:
                    i = index[id(p)]
                    grads[i] = grad if grads[i] is None else grads[i] + grad
            return found[0], out.detach()

        y = y.detach()
        grad_y = grad_output
        for block, (rng_f, rng_g) in zip(reversed(blocks), reversed(ctx.rng)):
            y1, y2 = torch.chunk(y, 2, dim=1)
            dy1, dy2 = torch.chunk(grad_y, 2, dim=1)
            del y, grad_y
            # G first: y2 = x2 + G(y1) gives x2 and adds G's path to dL/dy1.
            grad_in, g_out = backprop(block.g, y1, rng_g, dy2)
            dy1 = dy1 + grad_in if grad_in is not None else dy1
            x2 = y2 - g_out
            del grad_in, g_out, y2
            # Then F: y1 = x1 + F(x2) gives x1 and adds F's path to dL/dx2.
            grad_in, f_out = backprop(block.f, x2, rng_f, dy1)
            dx2 = dy2 + grad_in if grad_in is not None else dy2
            x1 = y1 - f_out
            del grad_in, f_out, y1
            y = torch.cat([x1, x2], dim=1)
            grad_y = torch.cat([dy1, dx2], dim=1)
            del x1, x2, dy1, dy2, dx2
        ctx.blocks = None
        ctx.rng = None
        return (grad_y, None, *grads)


class ReversibleStack(nn.Module):
    """A sequence of :class:`ReversibleCoupling` blocks, memory-saving when ``reversible``.

    With ``reversible=True`` and gradients being recorded, the forward keeps only the stack's
    output and the backward rebuilds activations by inversion (see the module docstring).
    With ``reversible=False``, or under ``torch.no_grad``, or while TorchScript scripts or
    traces the module, the blocks run one after the other under ordinary autograd. The two
    settings have the same parameters and ``state_dict`` keys and compute the same function,
    so ``reversible=False`` is the ablation twin.

    Args:
        blocks: the couplings, applied in order.
        reversible: whether to train with the inversion-based backward.

    Shapes:
        ``float (B, 2c, *spatial)`` -> ``float (B, 2c, *spatial)``.

    Note:
        The backward is not itself differentiable (no double backward), and the blocks must
        not change between forward and backward. Normalisation layers must not keep running
        statistics, which the re-run would update a second time.
    """

    def __init__(self, blocks: list[ReversibleCoupling], reversible: bool = True) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.reversible = reversible

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            self.reversible
            and torch.is_grad_enabled()
            and not torch.jit.is_scripting()
            and not torch.jit.is_tracing()
        ):
            return self._reversible_forward(x)
        for block in self.blocks:
            x = block(x)
        return x

    @torch.jit.unused
    def _reversible_forward(self, x: torch.Tensor) -> torch.Tensor:
        params = list(self.blocks.parameters())
        if not x.requires_grad and not any(p.requires_grad for p in params):
            with torch.no_grad():
                for block in self.blocks:
                    x = block(x)
            return x
        return _ReversibleStackFunction.apply(x, self.blocks, *params)

