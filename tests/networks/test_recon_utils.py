"""Complex <-> real channel conversion of the reconstruction networks."""

from __future__ import annotations

import torch

from medpipe.networks.recon_utils import channels_to_complex, complex_to_channels


def test_channels_are_real_parts_then_imaginary_parts():
    x = torch.randn(2, 3, 5, 4, dtype=torch.complex64)
    channels = complex_to_channels(x)
    assert channels.shape == (2, 6, 5, 4)
    torch.testing.assert_close(channels[:, :3], x.real)
    torch.testing.assert_close(channels[:, 3:], x.imag)
    torch.testing.assert_close(channels_to_complex(channels), x)


def test_single_image_gets_a_channel_axis():
    x = torch.randn(2, 5, 4, dtype=torch.complex64)
    torch.testing.assert_close(channels_to_complex(complex_to_channels(x)).squeeze(1), x)
