import numpy as np
import pytest
import torch

from medpipe.mri import as_complex_tensor, check_finite, from_complex, to_complex


def test_round_trip():
    x = torch.randn(3, 5, 6, dtype=torch.complex64)
    torch.testing.assert_close(to_complex(from_complex(x)), x)
    assert from_complex(x).shape == (3, 5, 6, 2)
    np.testing.assert_array_equal(to_complex(from_complex(x).numpy()).numpy(), x.numpy())


def test_as_complex_tensor_numpy():
    x = (np.arange(6) + 1j).astype(np.complex64)
    assert as_complex_tensor(x).dtype == torch.complex64


def test_errors():
    with pytest.raises(TypeError, match="`k` must be a complex tensor"):
        as_complex_tensor(np.zeros(3), "k")
    with pytest.raises(TypeError, match="must be a complex torch.Tensor"):
        as_complex_tensor([1j])
    with pytest.raises(TypeError, match="real floating tensor"):
        to_complex(torch.zeros(3, 2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="last axis of size 2"):
        to_complex(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="must be a torch.Tensor or NumPy"):
        to_complex([1.0, 2.0])


def test_check_finite():
    x = torch.ones(2, 3, dtype=torch.complex64)
    assert check_finite(x) is x
    x[0, 1] = complex(float("nan"), 0)
    with pytest.raises(ValueError, match="`kspace` must be finite, got 1 NaN"):
        check_finite(x)
