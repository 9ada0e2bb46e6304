"""Tubular trees with known Betti numbers (b0 trees, b1 loops, b2 = 0).

A tree is a union of capsules (segments with a radius) grown by binary branching from a root.
Capsules that share an end point are *adjacent*; every non-adjacent pair is kept at least
``radius_a + radius_b + CLEARANCE`` voxels apart. The union of convex sets is homotopy equivalent
to their nerve (nerve lemma), and with these rules the nerve of a tree is contractible (a tree of
segments whose meeting points fill the triangles of sibling branches). A loop (anastomosis)
is one more capsule joining two leaf tips of the same tree that are not siblings; it adds one
cycle to the nerve, so ``b1`` grows by exactly one. Trees are mutually clear, so ``b0`` is the
number of trees, and nothing encloses a cavity, so ``b2 = 0``.

The voxelised mask is then checked: Betti numbers are computed both with face connectivity
(6-connected foreground, 26-connected background) and with full connectivity (26 / 6), via
connected components and the Euler characteristic ``chi = b0 - b1 + b2``; a draw whose mask does not
match the design in both conventions is discarded and the next one drawn from the same
generator, so the returned ``betti`` is exact and the result still deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from medpipe.synthetic._shapes import centred_affine, check_seed, check_shape

__all__ = ["CLEARANCE", "VesselTree", "betti_numbers", "vessel_tree"]

#: Minimum gap (voxels) between the surfaces of non-adjacent capsules.
CLEARANCE = 2.0
_MAX_ATTEMPTS = 50
_SAMPLE_STEP = 0.25


@dataclass(frozen=True)
class VesselTree:
    """A binary tubular structure and its designed topology.

    Attributes:
        mask: bool (X, Y, Z).
        betti: (b0, b1, b2) = (num_trees, num_loops, 0), verified on ``mask`` for both connectivities.
        segments: float64 (N, 2, 3) capsule end points in voxel indices (loops last).
        radii: float64 (N,) capsule radii in voxels.
        affine: float64 (4, 4) RAS with 1 mm voxels, centred.
        seed: the seed it was generated from.
    """

    mask: np.ndarray
    betti: tuple[int, int, int]
    segments: np.ndarray
    radii: np.ndarray
    affine: np.ndarray
    seed: int


def betti_numbers(mask: np.ndarray, connectivity: int | str = 1) -> tuple[int, int, int]:
    """Betti numbers of a 3D binary mask by components and Euler characteristic.

    Args:
        mask: bool (X, Y, Z).
        connectivity: 1 (6-connected foreground, 26-connected background) or "full" (26 / 6).

    Returns:
        (b0, b1, b2): components, tunnels (handles), enclosed background cavities.
    """
    from skimage.measure import euler_number

    if connectivity not in (1, "full"):
        raise ValueError(f'`connectivity` must be 1 or "full", got {connectivity!r}')
    padded = np.pad(np.asarray(mask, dtype=bool), 1)
    face, full = ndimage.generate_binary_structure(3, 1), ndimage.generate_binary_structure(3, 3)
    foreground, background = (face, full) if connectivity == 1 else (full, face)
    b0 = ndimage.label(padded, structure=foreground)[1]
    b2 = ndimage.label(~padded, structure=background)[1] - 1
    chi = euler_number(padded, connectivity=1 if connectivity == 1 else 3)
    return int(b0), int(b0 + b2 - chi), int(b2)


def _samples(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    count = max(2, int(np.ceil(np.linalg.norm(end - start) / _SAMPLE_STEP)) + 1)
    return start + np.linspace(0.0, 1.0, count)[:, None] * (end - start)


class _Design:
    """Capsules with node ids; placement checks bounds and clearance to non-adjacent capsules."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = np.asarray(shape, dtype=np.float64)
        self.nodes: list[np.ndarray] = []
        self.capsules: list[tuple[int, int, float]] = []  # (start node, end node, radius)
        self.points: list[np.ndarray] = []

    def node(self, position: np.ndarray) -> int:
        self.nodes.append(np.asarray(position, dtype=np.float64))
        return len(self.nodes) - 1

    def inside(self, position: np.ndarray, radius: float) -> bool:
        margin = radius + 1.5
        return bool(np.all(position >= margin) and np.all(position <= self.shape - 1 - margin))

    def try_add(self, start: int, end: int, radius: float) -> bool:
        if not (self.inside(self.nodes[start], radius) and self.inside(self.nodes[end], radius)):
            return False
        points = _samples(self.nodes[start], self.nodes[end])
        for (a, b, other_radius), other in zip(self.capsules, self.points):
            if {a, b} & {start, end}:
                continue
            gap = np.sqrt(((points[:, None, :] - other[None, :, :]) ** 2).sum(-1)).min()
            if gap < radius + other_radius + CLEARANCE + _SAMPLE_STEP:
                return False
        self.capsules.append((start, end, radius))
        self.points.append(points)
        return True


def _random_direction(rng: np.random.Generator) -> np.ndarray:
    vector = rng.standard_normal(3)
    return vector / np.linalg.norm(vector)


def _branch_directions(rng: np.random.Generator, parent: np.ndarray) -> list[np.ndarray]:
    """Two child directions at 30-55 degrees to ``parent``, on opposite sides of it."""
    helper = np.eye(3)[np.argmin(np.abs(parent))]
    first = np.cross(parent, helper)
    first /= np.linalg.norm(first)
    second = np.cross(parent, first)
    azimuth = rng.uniform(0.0, 2.0 * np.pi)
    directions = []
    for side in (0.0, np.pi + rng.uniform(-0.4, 0.4)):
        polar = np.deg2rad(rng.uniform(30.0, 55.0))
        around = np.cos(azimuth + side) * first + np.sin(azimuth + side) * second
        directions.append(np.cos(polar) * parent + np.sin(polar) * around)
    return directions


def _grow_trees(rng, design: _Design, num_trees: int, depth: int, radius: float) -> list[list[tuple[int, int]]] | None:
    """Grow the trees; returns per tree the leaves as (capsule index, parent node), or None."""
    base_length = 0.32 * float(design.shape.min())
    leaves_per_tree = []
    for _ in range(num_trees):
        for _ in range(20):  # a root from near the boundary, pointing roughly at the centre
            position = rng.uniform(0.15, 0.85, size=3) * (design.shape - 1)
            inward = (design.shape - 1) / 2.0 - position
            direction = inward / max(np.linalg.norm(inward), 1e-6) + 0.6 * _random_direction(rng)
            direction /= np.linalg.norm(direction)
            start = design.node(position)
            end = design.node(position + base_length * direction)
            if design.try_add(start, end, radius):
                break
        else:
            return None
        frontier = [(len(design.capsules) - 1, direction, base_length, radius)]
        leaves = []
        for _level in range(depth):
            grown = []
            for index, parent_direction, length, parent_radius in frontier:
                joint = design.capsules[index][1]
                child_length = length * rng.uniform(0.7, 0.85)
                child_radius = max(radius * 0.8, parent_radius * 0.9)
                children = 0
                for _ in range(4):  # a few draws of the branch pair before the segment stays a leaf
                    for child_direction in _branch_directions(rng, parent_direction):
                        tip = design.node(design.nodes[joint] + child_length * child_direction)
                        if design.try_add(joint, tip, child_radius):
                            grown.append((len(design.capsules) - 1, child_direction, child_length, child_radius))
                            children += 1
                    if children:
                        break
                if children == 0:
                    leaves.append(index)
            frontier = grown
        leaves.extend(index for index, *_ in frontier)
        leaves_per_tree.append([(i, design.capsules[i][0]) for i in leaves])
    return leaves_per_tree


def _add_loops(rng, design: _Design, leaves_per_tree, num_loops: int, radius: float) -> bool:
    used: set[int] = set()
    for _ in range(num_loops):
        candidates = []
        for leaves in leaves_per_tree:
            for i, (a, parent_a) in enumerate(leaves):
                for b, parent_b in leaves[i + 1 :]:
                    tip_a, tip_b = design.capsules[a][1], design.capsules[b][1]
                    if parent_a != parent_b and not {tip_a, tip_b} & used:
                        candidates.append((tip_a, tip_b))
        order = rng.permutation(len(candidates))
        for k in order:
            tip_a, tip_b = candidates[k]
            length = np.linalg.norm(design.nodes[tip_a] - design.nodes[tip_b])
            if 2.0 * radius + CLEARANCE < length < 0.6 * design.shape.min() and design.try_add(tip_a, tip_b, radius):
                used.update((tip_a, tip_b))
                break
        else:
            return False
    return True


def _rasterise(design: _Design, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for start, end, radius in design.capsules:
        a, b = design.nodes[start], design.nodes[end]
        low = np.maximum(np.floor(np.minimum(a, b) - radius) - 1, 0).astype(int)
        high = np.minimum(np.ceil(np.maximum(a, b) + radius) + 2, shape).astype(int)
        grid = np.stack(np.meshgrid(*(np.arange(l, h) for l, h in zip(low, high)), indexing="ij"), axis=-1)
        direction = b - a
        t = np.clip(((grid - a) @ direction) / (direction @ direction), 0.0, 1.0)
        distance = np.linalg.norm(grid - a - t[..., None] * direction, axis=-1)
        mask[tuple(slice(l, h) for l, h in zip(low, high))] |= distance <= radius
    return mask


def vessel_tree(
    shape: Sequence[int] = (48, 48, 48),
    *,
    seed: int = 0,
    num_trees: int = 1,
    num_loops: int = 0,
    depth: int = 3,
    radius: float = 1.6,
) -> VesselTree:
    """Deterministic vessel-like trees with Betti numbers ``(num_trees, num_loops, 0)``.

    Args:
        shape: grid (X, Y, Z), each >= 24.
        seed: non-negative int.
        num_trees: disjoint trees (b0), >= 1.
        num_loops: anastomoses (b1), >= 0; each joins two non-sibling leaf tips of one tree.
        depth: branching levels below each root segment (0-4); a tree has up to ``2^(depth+1) - 1``
            segments.
        radius: root tube radius in voxels, in [1.2, 4]; branches taper to 0.8 of it.

    Returns:
        A :class:`VesselTree` whose ``betti`` holds for face and full connectivity.

    Raises:
        ValueError: bad arguments.
        RuntimeError: the design did not fit after many draws (use a larger shape, fewer trees
            or loops, or a smaller radius).
    """
    shape = check_shape(shape, minimum=24)
    seed = check_seed(seed)
    for name, value, low, high in (("num_trees", num_trees, 1, 8), ("num_loops", num_loops, 0, 8), ("depth", depth, 0, 4)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"`{name}` must be an int in [{low}, {high}], got {value!r}")
    if not (isinstance(radius, (int, float, np.floating)) and 1.2 <= radius <= 4.0):
        raise ValueError(f"`radius` must be a number of voxels in [1.2, 4], got {radius!r}")
    if num_loops and depth < 2:
        raise ValueError(f"`depth` must be >= 2 for loops between non-sibling leaves, got depth={depth}")

    rng = np.random.default_rng(seed)
    designed = (int(num_trees), int(num_loops), 0)
    for _ in range(_MAX_ATTEMPTS):
        design = _Design(shape)
        leaves = _grow_trees(rng, design, num_trees, depth, float(radius))
        if leaves is None or not _add_loops(rng, design, leaves, num_loops, 0.8 * float(radius)):
            continue
        mask = _rasterise(design, shape)
        if betti_numbers(mask, 1) == designed and betti_numbers(mask, "full") == designed:
            segments = np.array([[design.nodes[a], design.nodes[b]] for a, b, _ in design.capsules])
            radii = np.array([r for _, _, r in design.capsules])
            return VesselTree(mask, designed, segments, radii, centred_affine(shape, (1.0, 1.0, 1.0)), seed)
    raise RuntimeError(
        f"vessel_tree could not place {num_trees} tree(s) with {num_loops} loop(s) in shape {shape} after "
        f"{_MAX_ATTEMPTS} draws; use a larger shape, fewer trees or loops, or a smaller radius"
    )
