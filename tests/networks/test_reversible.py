"""Tests for medpipe.networks.blocks.reversible."""

from __future__ import annotations

import pytest
import torch

from medpipe.networks.blocks.mbconv import MBConvBody
from medpipe.networks.blocks.reversible import ReversibleCoupling, ReversibleStack


def _coupling(channels: int = 6, dropout: float = 0.0, spatial_dims: int = 3) -> ReversibleCoupling:
    def body() -> MBConvBody:
        return MBConvBody(spatial_dims, channels // 2, 2, 3, "instance", "silu", dropout)

    return ReversibleCoupling(body(), body())


def _stack_pair(blocks: int, dropout: float, seed: int = 0) -> tuple[ReversibleStack, ReversibleStack]:
    torch.manual_seed(seed)
    reversible = ReversibleStack([_coupling(dropout=dropout) for _ in range(blocks)], True).double()
    twin = ReversibleStack([_coupling(dropout=dropout) for _ in range(blocks)], False).double()
    twin.load_state_dict(reversible.state_dict())
    return reversible, twin


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def test_coupling_inverse_is_exact():
    torch.manual_seed(0)
    coupling = _coupling().double().eval()
    x = torch.randn(2, 6, 5, 6, 7, dtype=torch.float64)
    with torch.no_grad():
        y = coupling(x)
        x1, x2 = x.chunk(2, dim=1)
        # the definition, written out: y1 = x1 + F(x2), y2 = x2 + G(y1)
        y1 = x1 + coupling.f(x2)
        torch.testing.assert_close(y, torch.cat([y1, x2 + coupling.g(y1)], dim=1), rtol=0, atol=0)
        torch.testing.assert_close(coupling.inverse(y), x, rtol=0, atol=1e-12)
        assert (y - x).abs().max() > 1e-3  # the block is not the identity


def test_coupling_inverse_2d_float32():
    torch.manual_seed(1)
    coupling = _coupling(channels=4, spatial_dims=2).eval()
    x = torch.randn(3, 4, 6, 7)
    with torch.no_grad():
        torch.testing.assert_close(coupling.inverse(coupling(x)), x, rtol=0, atol=1e-5)


@pytest.mark.parametrize("blocks, dropout", [(1, 0.0), (3, 0.3)])
def test_stack_gradients_match_ordinary_autograd(blocks, dropout):
    reversible, twin = _stack_pair(blocks, dropout)
    x = torch.randn(2, 6, 5, 6, 7, dtype=torch.float64)
    weight = torch.randn(2, 6, 5, 6, 7, dtype=torch.float64)
    results = []
    for stack in (reversible, twin):
        leaf = x.clone().requires_grad_(True)
        torch.manual_seed(7)
        out = stack(leaf)
        (out * weight).sum().backward()
        after = torch.rand(3)  # the backward must leave the caller's random stream untouched
        results.append((out.detach(), leaf.grad, [p.grad for p in stack.parameters()], after))
    (out_r, grad_r, params_r, after_r), (out_t, grad_t, params_t, after_t) = results
    torch.testing.assert_close(out_r, out_t, rtol=1e-12, atol=1e-12)
    assert _relative_error(grad_r, grad_t) < 1e-5
    assert len(params_r) == len(params_t) > 0
    for gr, gt in zip(params_r, params_t):
        assert _relative_error(gr, gt) < 1e-5
    torch.testing.assert_close(after_r, after_t, rtol=0, atol=0)


def test_stack_uses_the_inverting_backward():
    reversible, _ = _stack_pair(2, 0.0)
    out = reversible(torch.randn(1, 6, 5, 6, 7, dtype=torch.float64, requires_grad=True))
    assert type(out.grad_fn).__name__ == "_ReversibleStackFunctionBackward"
    with torch.no_grad():
        assert reversible(torch.randn(1, 6, 5, 6, 7, dtype=torch.float64)).grad_fn is None


def test_stack_autograd_grad_with_frozen_parameters_and_constant_input():
    reversible, twin = _stack_pair(2, 0.0, seed=3)
    for stack in (reversible, twin):
        for p in stack.blocks[0].f.parameters():
            p.requires_grad_(False)
    x = torch.randn(1, 6, 5, 6, 7, dtype=torch.float64)  # no grad on the input
    grads = []
    for stack in (reversible, twin):
        trainable = [p for p in stack.parameters() if p.requires_grad]
        grads.append(torch.autograd.grad(stack(x).square().sum(), trainable))
        assert all(p.grad is None for p in stack.parameters())  # nothing accumulated behind autograd's back
    for gr, gt in zip(*grads):
        assert _relative_error(gr, gt) < 1e-5


def test_stack_without_anything_to_differentiate_runs_plainly():
    reversible, twin = _stack_pair(2, 0.0)
    reversible.requires_grad_(False)
    twin.requires_grad_(False)
    x = torch.randn(1, 6, 5, 6, 7, dtype=torch.float64)
    out = reversible(x)
    assert not out.requires_grad
    torch.testing.assert_close(out, twin(x), rtol=0, atol=0)


def _saved_bytes(stack: ReversibleStack, x: torch.Tensor) -> int:
    """Bytes of distinct storages that autograd keeps for the backward of ``stack(x)``."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = stack(x)
    out.sum().backward()
    return sum(storages.values())


def test_reversible_stack_keeps_only_its_output_for_backward():
    reversible, twin = _stack_pair(4, 0.1)
    x = torch.randn(1, 6, 5, 6, 7, dtype=torch.float64, requires_grad=True)
    output_bytes = x.numel() * x.element_size()
    assert _saved_bytes(reversible, x) == output_bytes
    # ordinary autograd keeps every block's hidden activations (4 blocks, 2 bodies, expansion 2)
    assert _saved_bytes(twin, x) > 4 * 2 * 2 * output_bytes
