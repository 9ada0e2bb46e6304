"""SensitivityRefinement: shape, coil normalisation, per-coil weight sharing, gradients, errors."""

from __future__ import annotations

import pytest
import torch

from medpipe.networks.sensitivity import SensitivityRefinement


@pytest.fixture
def maps():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 12, 10, dtype=torch.complex64, generator=generator)


def test_shape_and_normalisation(maps):
    refine = SensitivityRefinement(features=(4, 4, 8, 8, 16, 4))
    out = refine(maps)
    assert out.shape == maps.shape and out.dtype == torch.complex64
    torch.testing.assert_close((out.abs() ** 2).sum(1), torch.ones(2, 12, 10))


def test_same_network_for_every_coil(maps):
    refine = SensitivityRefinement(features=(4, 4, 8, 8, 16, 4)).eval()
    swapped = maps[:, [2, 0, 1]]
    torch.testing.assert_close(refine(swapped), refine(maps)[:, [2, 0, 1]])


def test_gradients(maps):
    refine = SensitivityRefinement(features=(4, 4, 8, 8, 16, 4))
    (refine(maps) * maps.conj()).real.sum().backward()
    for name, p in refine.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_errors(maps):
    with pytest.raises(ValueError, match="`features` must hold 6 ints"):
        SensitivityRefinement(features=(4, 8))
    refine = SensitivityRefinement(features=(4, 4, 8, 8, 16, 4))
    with pytest.raises(TypeError, match="`sensitivity_maps` must be a complex tensor"):
        refine(maps.abs())
    with pytest.raises(ValueError, match=r"`sensitivity_maps` must have shape \(B, C, H, W\)"):
        refine(maps[0])
