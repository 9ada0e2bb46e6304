import numpy as np
import pytest
import torch

from medpipe.metrics.registration import folding_fraction, jacobian_determinant, volume_ratio


def test_identity_and_translation_keep_volume():
    zero = np.zeros((3, 5, 6, 7))
    np.testing.assert_allclose(jacobian_determinant(zero), 1.0)
    shift = np.ones((3, 5, 6, 7)) * np.array([1.5, -2.0, 0.25])[:, None, None, None]
    np.testing.assert_allclose(jacobian_determinant(shift), 1.0)


def test_linear_scaling_matches_analytic_determinant():
    # u(x) = A x  ->  J = I + A everywhere (central differences are exact on linear fields)
    a = np.array([[0.1, 0.05, 0.0], [0.0, -0.2, 0.03], [0.02, 0.0, 0.3]])
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in (5, 6, 7)], indexing="ij"))
    ddf = np.einsum("ij,j...->i...", a, grid)
    expected = np.linalg.det(np.eye(3) + a)
    np.testing.assert_allclose(jacobian_determinant(ddf), expected, rtol=1e-12)
    # the same field in millimetres with anisotropic spacing gives the same determinant
    spacing = np.array([0.5, 2.0, 3.0])
    np.testing.assert_allclose(jacobian_determinant(ddf * spacing[:, None, None, None], spacing=spacing), expected)


def test_batched_torch_and_2d():
    ddf = torch.zeros(2, 2, 5, 6)
    ddf[:, 0] = torch.arange(5.0)[:, None] * -2.0  # x -> -x: folding everywhere
    det = jacobian_determinant(ddf)
    assert det.shape == (2, 5, 6)
    np.testing.assert_allclose(det, -1.0)
    assert folding_fraction(ddf[0]) == 1.0
    assert folding_fraction(np.zeros((2, 5, 6))) == 0.0


def test_folding_fraction_in_mask():
    ddf = np.zeros((2, 6, 5))
    ddf[0, :3] = np.arange(3.0)[:, None] * -2.0
    mask = np.zeros((6, 5), bool)
    mask[4:] = True
    assert folding_fraction(ddf, mask=mask) == 0.0
    with pytest.raises(ValueError, match="`mask` must have the spatial shape"):
        folding_fraction(ddf, mask=np.ones((5, 5), bool))


def test_volume_ratio():
    a = np.zeros((5, 6, 7), bool)
    b = a.copy()
    a[:2] = True
    b[:1] = True
    assert volume_ratio(a, b) == 2.0
    assert volume_ratio(b, b & False) == float("inf")
    assert volume_ratio(b & False, b & False) == 1.0


def test_synthetic_pair_ddf_is_fold_free_and_tumour_grows():
    from medpipe.synthetic import registration_pair

    pair = registration_pair(seed=3)
    assert folding_fraction(pair.ddf) == 0.0
    assert volume_ratio(pair.fixed_label, pair.moving_label) == pytest.approx(pair.volume_ratio, rel=0.1)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((3, 5, 6)), r"`ddf` must have shape \(ndim, \*spatial\)"),
        (np.zeros((2, 5, 6, 7)), r"`ddf` must have shape"),
        (np.full((2, 5, 6), np.nan), "`ddf` must be finite"),
    ],
)
def test_bad_fields_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        jacobian_determinant(bad)


def test_bad_spacing():
    with pytest.raises(ValueError, match="`spacing` must have 3 values"):
        jacobian_determinant(np.zeros((3, 4, 5, 6)), spacing=(1.0, 1.0))
