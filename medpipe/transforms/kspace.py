"""MONAI transforms for multi-coil k-space: undersampling, complex noise, percentile scaling, maps.

k-space is native complex64 with coils before the two spatial axes, e.g. ``(S, C, H, W)`` or
``(C, H, W)``. Random transforms only sample parameters (an acceleration, a noise level, a seed)
in ``randomize()`` from ``self.R`` and then call their deterministic twin, so every result can be
replayed from the parameters. Deterministic undersampling and noise are seeded from the case id.

File-level undersampling (the file's own mask, already undersampled data) lives in
``medpipe.transforms.recon_io.UndersampleKSpaced``; these are the physics steps around it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.transforms import MapTransform, Randomizable, RandomizableTransform, Transform

from medpipe.mri.coils import estimate_sensitivities
from medpipe.mri.layout import as_complex_tensor, check_finite
from medpipe.mri.masks import make_mask
from medpipe.mri.noise import add_complex_noise
from medpipe.mri.operators import apply_mask
from medpipe.mri.scaling import scale_kspace_by_percentile

__all__ = [
    "AddKSpaceNoise",
    "AddKSpaceNoised",
    "EstimateSensitivitiesd",
    "RandAddKSpaceNoise",
    "RandAddKSpaceNoised",
    "RandUndersampleKSpace",
    "ScaleKSpaceByPercentile",
    "ScaleKSpaceByPercentiled",
    "UndersampleKSpace",
]


def _kspace(value, name: str) -> torch.Tensor:
    kspace = check_finite(as_complex_tensor(value, name), name)
    if kspace.ndim < 3:
        raise ValueError(f"`{name}` must have shape (..., C, H, W), got {tuple(kspace.shape)}")
    return kspace


def _name(d: Mapping, key: Hashable) -> str:
    path = d.get(f"{key}_path")
    return f"{key} (from {path})" if path else str(key)


class UndersampleKSpace(Transform):
    """Multiply k-space by a mask seeded from a case id (deterministic).

    Args:
        mask_type: ``"random"``, ``"equispaced"``, ``"poisson"`` or ``"gaussian2d"``.
        acceleration: target acceleration.
        center_fraction: fully sampled centre fraction.

    Call with ``kspace`` complex64 ``(..., C, H, W)`` and ``seed`` (case id or int); returns
    ``(masked kspace, mask)`` with the mask float32 ``(H, W)``.
    """

    def __init__(self, mask_type: str = "equispaced", acceleration: float = 4.0, center_fraction: float = 0.08) -> None:
        self.mask_type, self.acceleration, self.center_fraction = mask_type, float(acceleration), float(center_fraction)

    def __call__(self, kspace, seed: str | int) -> tuple[torch.Tensor, torch.Tensor]:
        kspace = _kspace(kspace, "kspace")
        mask = make_mask(
            self.mask_type,
            tuple(kspace.shape[-2:]),
            acceleration=self.acceleration,
            center_fraction=self.center_fraction,
            seed=seed,
        )
        return apply_mask(kspace, mask), mask


class RandUndersampleKSpace(Randomizable, Transform):
    """Undersampling with an acceleration and a mask seed drawn per call (training).

    Args:
        mask_type: as :class:`UndersampleKSpace`.
        accelerations: accelerations to choose from, paired with ``center_fractions`` (fastMRI:
            ``(4, 8)`` with ``(0.08, 0.04)``).
        center_fractions: centre fraction of each acceleration.
    """

    def __init__(
        self,
        mask_type: str = "random",
        accelerations: Sequence[float] = (4.0, 8.0),
        center_fractions: Sequence[float] = (0.08, 0.04),
    ) -> None:
        if len(accelerations) == 0 or len(accelerations) != len(center_fractions):
            raise ValueError(
                "`accelerations` and `center_fractions` must be non-empty and of equal length, "
                f"got {list(accelerations)} and {list(center_fractions)}"
            )
        self.mask_type = mask_type
        self.choices = [(float(a), float(c)) for a, c in zip(accelerations, center_fractions)]
        self.acceleration, self.center_fraction = self.choices[0]
        self.seed = 0

    def randomize(self, data: object = None) -> None:
        self.acceleration, self.center_fraction = self.choices[self.R.randint(len(self.choices))]
        self.seed = int(self.R.randint(2**31))

    def __call__(self, kspace, randomize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        if randomize:
            self.randomize()
        return UndersampleKSpace(self.mask_type, self.acceleration, self.center_fraction)(kspace, self.seed)


class AddKSpaceNoise(Transform):
    """Add complex Gaussian noise of per-component std ``sigma`` at sampled locations only.

    Call with ``kspace`` complex64, ``mask`` broadcastable to it and ``seed`` (case id or int).
    """

    def __init__(self, sigma: float) -> None:
        if not sigma >= 0:
            raise ValueError(f"`sigma` must be >= 0, got {sigma!r}")
        self.sigma = float(sigma)

    def __call__(self, kspace, mask, seed: str | int = 0) -> torch.Tensor:
        return add_complex_noise(_kspace(kspace, "kspace"), mask, sigma=self.sigma, seed=seed)


class RandAddKSpaceNoise(RandomizableTransform):
    """With probability ``prob``, add noise with ``sigma`` drawn uniformly from ``sigma_range``
    (the Noise2Recon augmentation, Desai et al., MRM 2023).

    Args:
        sigma_range: ``(low, high)`` of the per-component standard deviation.
        prob: probability of adding noise.
    """

    def __init__(self, sigma_range: Sequence[float] = (0.0, 0.1), prob: float = 1.0) -> None:
        RandomizableTransform.__init__(self, prob)
        if len(sigma_range) != 2 or not 0 <= sigma_range[0] <= sigma_range[1]:
            raise ValueError(f"`sigma_range` must be (low, high) with 0 <= low <= high, got {tuple(sigma_range)}")
        self.sigma_range = (float(sigma_range[0]), float(sigma_range[1]))
        self.sigma, self.seed = 0.0, 0

    def randomize(self, data: object = None) -> None:
        super().randomize(None)
        self.sigma = float(self.R.uniform(*self.sigma_range))
        self.seed = int(self.R.randint(2**31))

    def __call__(self, kspace, mask, randomize: bool = True) -> torch.Tensor:
        if randomize:
            self.randomize()
        if not self._do_transform:
            return _kspace(kspace, "kspace")
        return AddKSpaceNoise(self.sigma)(kspace, mask, self.seed)


class ScaleKSpaceByPercentile(Transform):
    """Divide k-space by the ``percentile`` of its zero-filled RSS image; returns ``(kspace, scale)``."""

    def __init__(self, percentile: float = 99.5) -> None:
        if not 0 < percentile <= 100:
            raise ValueError(f"`percentile` must be in (0, 100], got {percentile!r}")
        self.percentile = float(percentile)

    def __call__(self, kspace) -> tuple[torch.Tensor, float]:
        return scale_kspace_by_percentile(_kspace(kspace, "kspace"), self.percentile)


class AddKSpaceNoised(MapTransform):
    """Dictionary form of :class:`AddKSpaceNoise`, seeded from ``d[seed_key]`` (the case id).

    Args:
        keys: k-space keys.
        sigma: per-component standard deviation.
        mask_key: the sampling mask (float, broadcastable to the k-space).
        seed_key: key of the case id; 0 when absent.
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        sigma: float = 0.0,
        mask_key: str = "mask",
        seed_key: str = "case_id",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.noise = AddKSpaceNoise(sigma)
        self.mask_key, self.seed_key = mask_key, seed_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        seed = d.get(self.seed_key, 0)
        for key in self.key_iterator(d):
            d[key] = self.noise(_kspace(d[key], _name(d, key)), d[self.mask_key], seed if isinstance(seed, (int, str)) else str(seed))
        return d


class RandAddKSpaceNoised(RandomizableTransform, MapTransform):
    """Dictionary form of :class:`RandAddKSpaceNoise`; one draw per call shared by all keys."""

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        sigma_range: Sequence[float] = (0.0, 0.1),
        prob: float = 1.0,
        mask_key: str = "mask",
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.noise = RandAddKSpaceNoise(sigma_range, prob=1.0)
        self.mask_key = mask_key

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.noise.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        self.randomize(None)
        if not self._do_transform:
            return d
        self.noise.randomize()
        for key in self.key_iterator(d):
            d[key] = self.noise(_kspace(d[key], _name(d, key)), d[self.mask_key], randomize=False)
        return d


class ScaleKSpaceByPercentiled(MapTransform):
    """Dictionary form of :class:`ScaleKSpaceByPercentile`.

    The scale goes to ``d[scale_key]`` so outputs can be brought back to the file's units, and the
    keys in ``label_keys`` (reference magnitudes) are divided by the same scale.

    Args:
        keys: k-space keys.
        percentile: percentile of the zero-filled RSS image mapped to 1.
        scale_key: where the scale factor is stored (a float, or a list for several keys).
        label_keys: reference images to scale with the first k-space key.
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        percentile: float = 99.5,
        scale_key: str = "kspace_scale",
        label_keys: Sequence[str] = ("label",),
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.scaler = ScaleKSpaceByPercentile(percentile)
        self.scale_key, self.label_keys = scale_key, tuple(label_keys)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        scales = []
        for key in self.key_iterator(d):
            d[key], scale = self.scaler(_kspace(d[key], _name(d, key)))
            scales.append(scale)
        if scales:
            for label in self.label_keys:
                if label in d and isinstance(d[label], (torch.Tensor, np.ndarray)):
                    d[label] = d[label] / scales[0]
            d[self.scale_key] = scales[0] if len(scales) == 1 else scales
        return d


class EstimateSensitivitiesd(MapTransform):
    """Estimate coil maps from the ACS region of each k-space key into ``sens_key``.

    Args:
        keys: k-space keys, complex64 ``(S, C, H, W)`` or ``(C, H, W)``.
        sens_key: output key (with several keys: ``f"{key}_{sens_key}"``).
        method: ``"lowres"`` or ``"espirit"`` (see :func:`medpipe.mri.estimate_sensitivities`).
        acs_lines: ACS region; ``None`` detects it from the sampled pattern.
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        sens_key: str = "sensitivity_maps",
        method: str = "lowres",
        acs_lines: int | Sequence[int] | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.sens_key, self.method, self.acs_lines = sens_key, method, acs_lines

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        several = len(self.keys) > 1
        for key in self.key_iterator(d):
            kspace = _kspace(d[key], _name(d, key))
            maps = estimate_sensitivities(kspace, acs_lines=self.acs_lines, method=self.method)
            d[f"{key}_{self.sens_key}" if several else self.sens_key] = maps
        return d
