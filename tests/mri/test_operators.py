import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch

from medpipe.mri import apply_mask, log_likelihood_gradient, sense_adjoint, sense_forward


def _inner(a, b):
    return torch.sum(a.conj() * b)


def _problem(seed=0, batch=2, coils=3, height=7, width=6):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(batch, height, width, generator=g, dtype=torch.complex64)
    sens = torch.randn(batch, coils, height, width, generator=g, dtype=torch.complex64)
    kspace = torch.randn(batch, coils, height, width, generator=g, dtype=torch.complex64)
    mask = (torch.rand(width, generator=g) > 0.5).float()
    return image, sens, kspace, mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adjointness(seed):
    image, sens, kspace, mask = _problem(seed)
    lhs = _inner(sense_forward(image, sens, mask), kspace)
    rhs = _inner(image, sense_adjoint(kspace, sens, mask))
    np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), rtol=1e-5)


def test_forward_matches_numpy():
    image, sens, _, mask = _problem(3)
    coils = sens.numpy() * image.numpy()[:, None]
    expected = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(coils, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(sense_forward(image, sens, mask).numpy(), expected * mask.numpy(), atol=1e-5)


@pytest.mark.parametrize("sigma", [1.0, 0.5])
def test_gradient_matches_autograd(sigma):
    image, sens, kspace, mask = _problem(4)
    x = image.clone().requires_grad_(True)
    residual = sense_forward(x, sens, mask) - apply_mask(kspace, mask)
    loss = residual.abs().pow(2).sum() / (2 * sigma**2)
    loss.backward()
    grad = log_likelihood_gradient(image, kspace, sens, mask, sigma=sigma)
    torch.testing.assert_close(grad, x.grad, atol=1e-4, rtol=1e-4)


def test_gradient_vanishes_at_truth():
    image, sens, _, mask = _problem(5)
    kspace = sense_forward(image, sens, torch.ones(()))
    grad = log_likelihood_gradient(image, kspace, sens, mask)
    assert grad.abs().max() < 1e-5


def test_mask_errors():
    image, sens, kspace, _ = _problem()
    with pytest.raises(ValueError, match=r"`mask` must broadcast against k-space of shape \(2, 3, 7, 6\), got mask shape \(7,\)"):
        sense_adjoint(kspace, sens, torch.ones(7))
    with pytest.raises(TypeError, match="`mask` must be real"):
        apply_mask(kspace, torch.ones(6, dtype=torch.complex64))
    with pytest.raises(TypeError, match="`mask` must be a torch.Tensor"):
        apply_mask(kspace, [1, 0])
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        log_likelihood_gradient(image, kspace, sens, torch.ones(6), sigma=0)
    np.testing.assert_array_equal(apply_mask(kspace, np.ones((7, 6), bool)).numpy(), kspace.numpy())


@settings(max_examples=15, deadline=None)
@given(
    batch=st.integers(1, 2),
    coils=st.integers(1, 4),
    height=st.integers(3, 9),
    width=st.integers(3, 9),
    seed=st.integers(0, 2**16),
)
def test_adjointness_any_shape(batch, coils, height, width, seed):
    image, sens, kspace, _ = _problem(seed, batch, coils, height, width)
    mask = (torch.rand(height, width, generator=torch.Generator().manual_seed(seed)) > 0.4).float()
    lhs = _inner(sense_forward(image, sens, mask), kspace)
    rhs = _inner(image, sense_adjoint(kspace, sens, mask))
    np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), rtol=1e-5, atol=1e-5)
