"""QC pictures (matplotlib Agg, no display): label overlays on three orthogonal slices, and a
reconstruction beside its zero-filled input.

Figures are drawn on a :class:`matplotlib.figure.Figure` with an Agg canvas (no pyplot state),
so QC is safe in threads and Dask workers and the PNG bytes depend only on the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["label_centre", "save_overlay_png", "save_side_by_side_png"]

_COLOURS = np.array(
    [[0.0, 0.0, 0.0, 0.0], [0.90, 0.20, 0.20, 0.55], [0.20, 0.75, 0.25, 0.55], [0.25, 0.45, 0.95, 0.55],
     [0.95, 0.85, 0.15, 0.55], [0.80, 0.30, 0.85, 0.55], [0.15, 0.85, 0.85, 0.55], [0.95, 0.55, 0.15, 0.55]]
)


def label_centre(label: np.ndarray) -> tuple[int, int, int]:
    """Voxel index of the foreground's centre of mass (the volume centre when empty).

    Args:
        label: integer labels ``(X, Y, Z)``; non-zero is foreground.
    """
    points = np.argwhere(label != 0)
    if points.size == 0:
        return tuple(int(s // 2) for s in label.shape)
    return tuple(int(round(v)) for v in points.mean(axis=0))


def _normalise(image: np.ndarray) -> np.ndarray:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return np.zeros_like(image, dtype=np.float32)
    low, high = np.percentile(finite, [1, 99])
    return np.clip((image - low) / (high - low if high > low else 1.0), 0, 1).astype(np.float32)


def _figure(columns: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2.4 * columns, 2.6), dpi=80, facecolor="black")
    FigureCanvasAgg(figure)
    return figure


def save_overlay_png(path: str | Path, image: np.ndarray, label: np.ndarray) -> Path:
    """Three orthogonal slices through the label's centre with the labels overlaid.

    Args:
        path: PNG file to write.
        image: float ``(X, Y, Z)`` background (e.g. FLAIR).
        label: integer ``(X, Y, Z)`` labels on the same grid.

    Raises:
        ValueError: when ``image`` and ``label`` differ in shape or are not 3-D.
    """
    image, label = np.asarray(image), np.asarray(label)
    if image.ndim != 3 or image.shape != label.shape:
        raise ValueError(f"`image` and `label` must be 3-D on one grid, got {image.shape} and {label.shape}")
    x, y, z = label_centre(label)
    background = _normalise(image.astype(np.float32))
    codes = np.zeros(label.shape, dtype=np.int64)
    for rank, value in enumerate(sorted(int(v) for v in np.unique(label) if v != 0)):
        codes[label == value] = 1 + rank % (len(_COLOURS) - 1)
    views = [("axial", background[:, :, z], codes[:, :, z]), ("coronal", background[:, y, :], codes[:, y, :]),
             ("sagittal", background[x, :, :], codes[x, :, :])]
    figure = _figure(3)
    for column, (title, plane, overlay) in enumerate(views):
        axes = figure.add_subplot(1, 3, column + 1)
        axes.imshow(plane.T, cmap="gray", origin="lower", vmin=0, vmax=1, interpolation="nearest")
        axes.imshow(_COLOURS[overlay.T], origin="lower", interpolation="nearest")
        axes.set_title(title, color="white", fontsize=9)
        axes.axis("off")
    figure.tight_layout(pad=0.6)
    figure.savefig(path, facecolor="black", metadata={"Software": None})
    return Path(path)


def save_side_by_side_png(path: str | Path, images: dict[str, np.ndarray]) -> Path:
    """Named 2-D images side by side (e.g. ``{"reconstruction": ..., "zero-filled": ...}``).

    Args:
        path: PNG file to write.
        images: ``{title: float (H, W)}``; complex images are shown as magnitude.

    Raises:
        ValueError: when an image is not 2-D.
    """
    figure = _figure(len(images))
    for column, (title, image) in enumerate(images.items()):
        image = np.abs(np.asarray(image))
        if image.ndim != 2:
            raise ValueError(f"`images[{title!r}]` must be 2-D, got shape {image.shape}")
        axes = figure.add_subplot(1, len(images), column + 1)
        axes.imshow(_normalise(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes.set_title(title, color="white", fontsize=9)
        axes.axis("off")
    figure.tight_layout(pad=0.3)
    figure.savefig(path, facecolor="black", metadata={"Software": None})
    return Path(path)
