"""Continuous model of a skull-stripped brain with a glioma, evaluable at any millimetre position.

The model is a set of nested implicit surfaces in "brain units" ``v = p / semi_axes`` (the brain
is the unit ball, its surface perturbed by smooth noise): a cortical grey-matter ribbon with
noisy folding, white matter inside, sulcal and fissure CSF, two lateral ventricles, deep grey
nuclei, and a lobulated tumour ``d(p) = |p - c| / R * (1 + 0.12 n(p))`` whose compartments are
level sets of ``d``: necrosis ``d < 0.5`` (ring-enhancing only), enhancing ``d < 1``, oedema
``d < 1.8``. Using level sets of one function guarantees the BraTS nesting
necrosis ⊂ enhancing ⊂ oedema. Tissue fractions use one-voxel linear ramps (partial volume).

Relative contrasts follow the usual appearance of each sequence: T1 WM > GM > CSF; T1ce as T1
with a bright enhancing rim; T2 CSF > oedema > GM > WM; FLAIR as T2 with CSF suppressed and
oedema brightest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medpipe.synthetic._shapes import Coordinates, LatticeNoise, is_grid, ramp

MODALITIES: tuple[str, ...] = ("t1", "t1ce", "t2", "flair")

#: Brain semi-axes as a fraction of the half field of view (x: left-right, y: A-P, z: S-I).
BRAIN_FRACTION = np.array([0.62, 0.74, 0.80])

#: Mean intensity (arbitrary units) of each tissue class per modality.
INTENSITIES: dict[str, dict[str, float]] = {
    "t1": {"wm": 0.85, "gm": 0.60, "csf": 0.18, "oedema": 0.50, "enhancing": 0.58, "necrotic": 0.28},
    "t1ce": {"wm": 0.85, "gm": 0.62, "csf": 0.20, "oedema": 0.50, "enhancing": 1.35, "necrotic": 0.30},
    "t2": {"wm": 0.42, "gm": 0.62, "csf": 1.20, "oedema": 0.98, "enhancing": 0.80, "necrotic": 1.10},
    "flair": {"wm": 0.48, "gm": 0.66, "csf": 0.10, "oedema": 1.20, "enhancing": 0.85, "necrotic": 0.55},
}

NECROTIC_LEVEL = 0.5
ENHANCING_LEVEL = 1.0
OEDEMA_LEVEL = 1.8

# (centre, semi-axes) in brain units of the paired structures; x is mirrored for the other side.
_VENTRICLE = ((0.12, 0.02, 0.12), (0.07, 0.34, 0.13))
_DEEP_GREY = ((0.24, -0.06, -0.02), (0.11, 0.17, 0.12))


def _ellipsoid_fraction(v: Coordinates, centre: Sequence[float], axes: Sequence[float], width: float) -> np.ndarray:
    """Soft inside fraction of an ellipsoid in brain units (distance scaled by its smallest axis)."""
    distance = sum(((c - m) / np.float32(a)) ** 2 for c, m, a in zip(v, centre, axes))
    return ramp((1.0 - np.sqrt(distance)) * np.float32(min(axes)), width)


class BrainModel:
    """Random brain-with-glioma model; draws every random quantity at construction, in fixed order.

    Args:
        rng: the only source of randomness.
        extent: field of view (mm) per axis; the brain fills :data:`BRAIN_FRACTION` of it.
        resolution: voxel size (mm) that sets the width of the partial-volume ramps.
        tumour_center: tumour centre (mm, relative to the FOV centre) or None to draw one.
        tumour_radius: radius (mm) of the enhancing tumour or None to draw one.
        ring_enhancing: necrotic core inside an enhancing shell (True) or a solid enhancing tumour.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        extent: Sequence[float],
        resolution: float,
        *,
        tumour_center: Sequence[float] | None = None,
        tumour_radius: float | None = None,
        ring_enhancing: bool = True,
    ):
        half = np.asarray(extent, dtype=np.float64) / 2.0
        self.semi_axes = BRAIN_FRACTION * half
        self.resolution = float(resolution)
        self.ring_enhancing = bool(ring_enhancing)
        self.surface = LatticeNoise(rng, (6, 6, 6), half)
        self.folding = LatticeNoise(rng, (20, 20, 14), half)
        self.texture = LatticeNoise(rng, (28, 28, 20), half)
        self.lobes = LatticeNoise(rng, (12, 12, 10), half)
        self.bias = {m: LatticeNoise(rng, (4, 4, 4), half) for m in MODALITIES}
        if tumour_center is None:
            while True:  # rejection sampling: a centre inside one hemisphere, away from the surface
                v = rng.uniform(-0.5, 0.5, size=3)
                if np.linalg.norm(v) <= 0.5 and abs(v[0]) >= 0.18:
                    break
            tumour_center = v * self.semi_axes
        default_radius = rng.uniform(0.2, 0.3) * float(self.semi_axes.min())
        self.tumour_center = np.asarray(tumour_center, dtype=np.float64)
        self.tumour_radius = float(default_radius if tumour_radius is None else tumour_radius)

    def brain_radius(self, coords: Coordinates) -> np.ndarray:
        """Perturbed radius in brain units (< 1 inside the brain), float32."""
        v = [c / np.float32(a) for c, a in zip(coords, self.semi_axes)]
        radius = np.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
        return radius * (1.0 + np.float32(0.04) * self.surface.sample(coords))

    def tumour_distance(self, coords: Coordinates) -> np.ndarray:
        """Lobulated tumour distance ``d`` (1 on the enhancing boundary), float32."""
        squared = sum((c - np.float32(m)) ** 2 for c, m in zip(coords, self.tumour_center))
        scaled = np.sqrt(squared) * np.float32(1.0 / self.tumour_radius)
        return scaled * (1.0 + np.float32(0.12) * self.lobes.sample(coords))

    def evaluate(self, coords: Coordinates) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Noise-free images, BraTS labels and brain mask at ``coords`` (mm).

        Local structures (ventricles, deep grey nuclei, tumour) are computed only inside their
        bounding boxes when ``coords`` is a grid, which halves the work at full BraTS size.

        Returns:
            ``images`` (modality -> float32), ``label`` (uint8 {0, 1, 2, 4}) and ``brain_mask``
            (bool), all shaped like ``np.broadcast(*coords)``.
        """
        width = self.resolution / float(self.semi_axes.min())
        radius = self.brain_radius(coords)
        brain_mask = radius <= 1.0
        brain = ramp(1.0 - radius, width)
        fold = self.folding.sample(coords)
        v = tuple(c / np.float32(a) for c, a in zip(coords, self.semi_axes))

        csf = ramp(radius - (0.955 - 0.025 * fold), width)
        fissure = ramp(np.float32(0.018) - np.abs(v[0]), width) * ramp(v[2] + np.float32(0.25), width)
        np.maximum(csf, fissure * ramp(np.sqrt(v[1] ** 2 + v[2] ** 2) - np.float32(0.3), width), out=csf)
        grey = ramp(radius - (0.86 + 0.06 * fold), width)
        for side in (-1.0, 1.0):
            for target, ((cx, cy, cz), axes) in ((csf, _VENTRICLE), (grey, _DEEP_GREY)):
                centre = np.array([side * cx, cy, cz])
                box, local = _box(coords, centre * self.semi_axes, (np.array(axes) + width) * self.semi_axes)
                local_v = tuple(c / np.float32(a) for c, a in zip(local, self.semi_axes))
                np.maximum(target[box], _ellipsoid_fraction(local_v, centre, axes, width), out=target[box])
        grey *= 1.0 - csf
        white = 1.0 - csf - grey

        # lobulation scales d by at least (1 + 0.12 min(lattice)), which bounds the oedema's reach
        tumour_width = self.resolution / self.tumour_radius
        shrink = max(1.0 + 0.12 * float(self.lobes.values.min()), 0.05)
        reach = (OEDEMA_LEVEL + tumour_width) * self.tumour_radius / shrink
        box, local = _box(coords, self.tumour_center, np.full(3, reach))
        distance = self.tumour_distance(local)
        oedema = ramp(OEDEMA_LEVEL - distance, tumour_width)
        core = ramp(ENHANCING_LEVEL - distance, tumour_width)
        necrotic = ramp(NECROTIC_LEVEL - distance, tumour_width) if self.ring_enhancing else np.zeros_like(core)
        healthy = 1.0 - oedema
        tumour_fractions = {"oedema": oedema - core, "enhancing": core - necrotic, "necrotic": necrotic}

        label = np.zeros(brain_mask.shape, dtype=np.uint8)
        local_label = label[box]
        local_label[distance < OEDEMA_LEVEL] = 2
        local_label[distance < ENHANCING_LEVEL] = 4
        if self.ring_enhancing:
            local_label[distance < NECROTIC_LEVEL] = 1
        local_label[~brain_mask[box]] = 0

        common = brain * (1.0 + np.float32(0.05) * self.texture.sample(coords))
        common *= brain_mask  # skull-stripped: exactly zero outside the mask
        images = {}
        for modality in MODALITIES:
            level = {k: np.float32(x) for k, x in INTENSITIES[modality].items()}
            image = white * level["wm"]
            image += grey * level["gm"]
            image += csf * level["csf"]
            local_image = image[box]
            local_image *= healthy
            for tissue, fraction in tumour_fractions.items():
                local_image += fraction * level[tissue]
            image *= common
            image *= 1.0 + np.float32(0.08) * self.bias[modality].sample(coords)
            images[modality] = image
        return images, label, brain_mask


def _box(coords: Coordinates, centre: np.ndarray, half_size: np.ndarray) -> tuple[tuple, Coordinates]:
    """Index box of the grid points within ``centre +- half_size`` (mm) and their coordinates.

    For scattered points (not a grid) the box is the whole array.
    """
    if not is_grid(coords):
        return (Ellipsis,), coords
    box, local = [], []
    for axis, c in enumerate(coords):
        values = c.reshape(-1)
        inside = np.nonzero(np.abs(values - centre[axis]) <= half_size[axis])[0]
        bounds = slice(int(inside[0]), int(inside[-1]) + 1) if inside.size else slice(0, 0)
        box.append(bounds)
        index = [slice(None)] * len(coords)
        index[axis] = bounds
        local.append(c[tuple(index)])
    return tuple(box), tuple(local)
