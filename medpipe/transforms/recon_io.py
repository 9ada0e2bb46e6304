"""Dictionary transforms that bring multi-coil k-space files into a reconstruction bundle.

The chain a reconstruction bundle uses::

    LoadKSpaced -> [RandKSpaceSliced] -> UndersampleKSpaced | RandUndersampleKSpaced -> KSpaceToChannelsd

1. :class:`LoadKSpaced` reads a fastMRI HDF5 file or BART ``.cfl`` into ``kspace`` complex64
   (S, C, H, W), keeps the file's ``mask``, and puts the reference magnitude into ``label``
   (S, H, W) when there is one: a reference file named by ``label`` (``.cfl`` or ``.h5``), else the
   file's ``reconstruction_rss`` when its matrix matches, else the RSS of fully sampled k-space.
2. :class:`UndersampleKSpaced` applies the file's mask, leaves already undersampled k-space alone, and
   otherwise samples a mask seeded from the case id (reproducible evaluation);
   :class:`RandUndersampleKSpaced` draws the seed from ``self.R`` (training) and calls it.
3. :class:`KSpaceToChannelsd` turns ``kspace`` into the network input ``image``, float32 (2C, H, W, S)
   (real parts of the coils, then imaginary parts; slices last), and ``label`` into (1, H, W, S).
4. After the network, :class:`SaveMagnituded` writes the magnitude volume (H, W, S) as NIfTI.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.transforms import MapTransform, Randomizable
from monai.utils import look_up_option

from medpipe.io.kspace import read_cfl, read_cfl_raw, read_fastmri_h5
from medpipe.mri.coils import rss
from medpipe.mri.fft import ifftc
from medpipe.mri.masks import MASK_FUNCTIONS
from medpipe.transforms.kspace import UndersampleKSpace

__all__ = [
    "FILE_FORMATS",
    "LoadKSpaced",
    "read_calgary_campinas",
    "UndersampleKSpaced",
    "RandUndersampleKSpaced",
    "RandKSpaceSliced",
    "KSpaceToChannelsd",
    "SaveMagnituded",
    "is_undersampled",
]

#: k-space whose share of never-sampled (all-coil zero) locations exceeds this is taken as undersampled; fully
#: sampled files can have some zeros (fastMRI knee width padding, Calgary-Campinas partial Fourier, ~15%).
UNDERSAMPLED_ZERO_FRACTION = 0.3


def is_undersampled(kspace: torch.Tensor) -> bool:
    """Whether complex (S, C, H, W) k-space has many locations that no coil sampled (exact zeros)."""
    never_sampled = (kspace.abs() == 0).all(dim=1)
    return bool(never_sampled.float().mean() > UNDERSAMPLED_ZERO_FRACTION)


FILE_FORMATS = ("auto", "fastmri", "bart", "calgary_campinas")


def read_calgary_campinas(path: str) -> np.ndarray:
    """Calgary-Campinas multi-channel k-space as centred complex64 (S, C, H, W).

    The CC-359 raw files hold a float ``kspace`` dataset (slices, H, W, 2C) with real and imaginary parts
    interleaved along the last axis, transformed without FFT shifts (DIRECT's ``CalgaryCampinasDataset``
    splits ``[..., ::2] + 1j [..., 1::2]``; atommic reads it with ``fft_centered: false``). The image is
    recovered with the uncentred inverse FFT and transformed back with medpipe's centred FFT.
    """
    import h5py

    with h5py.File(path, "r") as f:
        if "kspace" not in f:
            raise ValueError(f"Calgary-Campinas file {path!r} must have a `kspace` dataset, got {sorted(f)}")
        data = np.asarray(f["kspace"][()])
    if np.iscomplexobj(data) or data.ndim != 4 or data.shape[-1] % 2:
        raise ValueError(
            f"Calgary-Campinas `kspace` in {path!r} must be float (slices, H, W, 2C) with interleaved real and "
            f"imaginary parts, got {data.dtype} {data.shape}"
        )
    kspace = (data[..., ::2] + 1j * data[..., 1::2]).astype(np.complex64).transpose(0, 3, 1, 2)
    image = np.fft.ifft2(kspace, norm="ortho")
    centred = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    return centred.astype(np.complex64)


def _read_any(path: str, file_format: str = "auto") -> dict:
    suffix = Path(path).suffix.lower()
    if file_format == "auto":
        file_format = "fastmri" if suffix in (".h5", ".hdf5") else "bart" if suffix in (".cfl", ".hdr", "") else ""
    if file_format == "fastmri":
        return read_fastmri_h5(path)
    if file_format == "bart":
        return {"kspace": read_cfl(path), "mask": None, "reconstruction_rss": None}
    if file_format == "calgary_campinas":
        return {"kspace": read_calgary_campinas(path), "mask": None, "reconstruction_rss": None}
    raise ValueError(f"k-space file must be fastMRI .h5 or BART .cfl/.hdr (or set `file_format`), got {path!r}")


class LoadKSpaced(MapTransform):
    """Read k-space (and its reference image) from the paths in ``data``.

    Args:
        keys: the key holding the k-space path (one key; it receives the complex64 (S, C, H, W) tensor).
        label_key: key of an optional reference file, replaced by its magnitude float32 (S, H, W); when
            absent, ``label`` comes from the file's ``reconstruction_rss`` (if its matrix is (H, W)) or
            the RSS of fully sampled k-space, and is left out for undersampled data without reference.
        mask_key: where the file's own sampling mask goes (float32, broadcastable to (S, C, H, W)).
        file_format: ``"auto"`` (``.h5`` fastMRI, ``.cfl`` BART), ``"fastmri"``, ``"bart"`` or
            ``"calgary_campinas"`` (see :func:`read_calgary_campinas`).
        allow_missing_keys: as in MONAI.
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        label_key: str = "label",
        mask_key: str = "mask",
        file_format: str = "auto",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if len(self.keys) != 1:
            raise ValueError(f"`keys` must name exactly one k-space entry, got {self.keys}")
        if file_format not in FILE_FORMATS:
            raise ValueError(f"`file_format` must be one of {FILE_FORMATS}, got {file_format!r}")
        self.label_key, self.mask_key, self.file_format = label_key, mask_key, file_format

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            path = str(d[key])
            loaded = _read_any(path, self.file_format)
            kspace = torch.from_numpy(np.ascontiguousarray(loaded["kspace"]))
            d[key] = kspace
            d[f"{key}_path"] = path
            if loaded.get("mask") is not None:
                mask = torch.as_tensor(np.asarray(loaded["mask"], dtype=np.float32))
                d[self.mask_key] = mask.reshape(1, 1, 1, -1) if mask.ndim == 1 else mask
            reference = d.get(self.label_key)
            if isinstance(reference, (str, Path)):
                d[self.label_key] = self._reference(str(reference), kspace.shape)
            elif loaded.get("reconstruction_rss") is not None and tuple(loaded["reconstruction_rss"].shape) == (
                kspace.shape[0],
                *kspace.shape[-2:],
            ):
                d[self.label_key] = torch.as_tensor(np.asarray(loaded["reconstruction_rss"], dtype=np.float32))
            elif self.mask_key not in d and not is_undersampled(kspace):
                d[self.label_key] = rss(ifftc(kspace), coil_dim=1).float()
        return d

    @staticmethod
    def _reference(path: str, kspace_shape: torch.Size) -> torch.Tensor:
        suffix = Path(path).suffix.lower()
        if suffix in (".h5", ".hdf5"):
            loaded = read_fastmri_h5(path)
            image = loaded["reconstruction_rss"]
            if image is None:
                image = rss(ifftc(torch.from_numpy(loaded["kspace"])), coil_dim=1).numpy()
        else:
            # A BART image (x, y, z, coils, maps, ...): the root sum of squares over every axis after the
            # third (e.g. PICS with two ESPIRiT map sets), then (x, y, z) = (slices, H, W) as in read_cfl.
            raw = read_cfl_raw(path)
            raw = raw.reshape(*raw.shape[:3], -1) if raw.ndim >= 3 else raw.reshape(1, *raw.shape, 1)
            image = np.sqrt((np.abs(raw) ** 2).sum(axis=-1))
        image = torch.as_tensor(np.asarray(image, dtype=np.float32))
        expected = (kspace_shape[0], *kspace_shape[-2:])
        if tuple(image.shape) != expected:
            raise ValueError(f"reference {path!r} must have shape {expected} (slices, H, W), got {tuple(image.shape)}")
        return image


class UndersampleKSpaced(MapTransform):
    """Undersample k-space reproducibly: the file's mask, else none if already undersampled, else a
    mask seeded from ``case_id``.

    Args:
        keys: the k-space key, complex64 (S, C, H, W).
        mask_type: ``"random"``, ``"equispaced"``, ``"poisson"`` or ``"gaussian2d"`` (see
            :func:`medpipe.mri.masks.make_mask`).
        acceleration: target acceleration.
        center_fraction: fully sampled centre fraction.
        mask_key: where the file's mask is, and where the applied mask is written (float32 (1, 1, H, W)).
        seed_key: the key whose value seeds the mask (a case id string or an int).
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        mask_type: str = "equispaced",
        acceleration: float = 4.0,
        center_fraction: float = 0.08,
        mask_key: str = "mask",
        seed_key: str = "case_id",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.mask_type, self.acceleration, self.center_fraction = mask_type, float(acceleration), float(center_fraction)
        self.mask_key, self.seed_key = mask_key, seed_key

    def undersample(self, d: dict, key: Hashable, seed: str | int) -> None:
        """Undersample ``d[key]`` in place with ``seed`` unless it already is."""
        kspace = d[key]
        if self.mask_key in d:
            mask = torch.as_tensor(d[self.mask_key], dtype=torch.float32)
            try:
                d[key] = kspace * mask
            except RuntimeError:
                raise ValueError(
                    f"the mask of {d.get(f'{key}_path', key)!r} must broadcast to the k-space shape "
                    f"{tuple(kspace.shape)}, got {tuple(mask.shape)}"
                ) from None
            return
        if is_undersampled(kspace):
            return
        # the array twin, built per call: the random subclass redraws acceleration and centre
        d[key], mask = UndersampleKSpace(self.mask_type, self.acceleration, self.center_fraction)(kspace, seed)
        d[self.mask_key] = mask[None, None]

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        seed = d.get(self.seed_key, 0)
        for key in self.key_iterator(d):
            self.undersample(d, key, seed if isinstance(seed, (str, int)) else str(seed))
        return d


class RandUndersampleKSpaced(Randomizable, UndersampleKSpaced):
    """:class:`UndersampleKSpaced` with a fresh mask seed per call drawn from ``self.R`` (training).

    Args: as :class:`UndersampleKSpaced`, with ``accelerations`` and ``center_fractions`` lists to pick
    from (the fastMRI convention: 4x with 0.08, 8x with 0.04), and ``mask_type`` either one name or a
    list of names to pick from per call (e.g. ``["random", "equispaced"]``).
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        mask_type: str | Sequence[str] = "random",
        accelerations: Sequence[float] = (4.0,),
        center_fractions: Sequence[float] = (0.08,),
        mask_key: str = "mask",
        allow_missing_keys: bool = False,
    ) -> None:
        if len(accelerations) != len(center_fractions) or not accelerations:
            raise ValueError(
                "`accelerations` and `center_fractions` must be non-empty and of equal length, "
                f"got {list(accelerations)} and {list(center_fractions)}"
            )
        mask_types = [mask_type] if isinstance(mask_type, str) else list(mask_type)
        if not mask_types or not all(isinstance(name, str) for name in mask_types):
            raise ValueError(f"`mask_type` must be a mask name or a non-empty list of names, got {mask_type!r}")
        for name in mask_types:
            look_up_option(name, MASK_FUNCTIONS)  # unknown names fail here, with a "did you mean" hint
        super().__init__(keys, mask_types[0], accelerations[0], center_fractions[0], mask_key, "", allow_missing_keys)
        self.mask_types = mask_types
        self.choices = list(zip(map(float, accelerations), map(float, center_fractions)))
        self._seed = 0

    def randomize(self, data: object = None) -> None:
        self.acceleration, self.center_fraction = self.choices[self.R.randint(len(self.choices))]
        if len(self.mask_types) > 1:
            self.mask_type = self.mask_types[self.R.randint(len(self.mask_types))]
        self._seed = int(self.R.randint(2**31))

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        self.randomize()
        for key in self.key_iterator(d):
            self.undersample(d, key, self._seed)
        return d


class RandKSpaceSliced(Randomizable, MapTransform):
    """Keep one random slice of every key (training on 2D slices): (S, ...) -> (1, ...).

    Args:
        keys: keys whose first axis is the slice axis (k-space, label, a per-slice mask).
    """

    def __init__(self, keys: str | Sequence[str], allow_missing_keys: bool = True) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        self._index = 0

    def randomize(self, num_slices: int) -> None:
        self._index = int(self.R.randint(num_slices))

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        first = next(iter(self.key_iterator(d)))
        self.randomize(d[first].shape[0])
        for key in self.key_iterator(d):
            if d[key].shape[0] > 1:
                d[key] = d[key][self._index : self._index + 1]
        return d


class KSpaceToChannelsd(MapTransform):
    """k-space (S, C, H, W) complex64 -> ``image`` float32 (2C, H, W, S); ``label`` (S, H, W) -> (1, H, W, S).

    Also writes ``<image_key>_meta_dict`` (``filename_or_obj`` = the case id, an identity ``affine``) so
    that ``SaveImaged(meta_keys="image_meta_dict")`` names the output ``<case_id>_<postfix>.nii.gz``.

    Args:
        keys: the k-space key.
        image_key: where the network input goes.
        label_key: the reference magnitude, reshaped when present.
        name_key: the key holding the case id used to name outputs.
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "kspace",
        image_key: str = "image",
        label_key: str = "label",
        name_key: str = "case_id",
    ) -> None:
        super().__init__(keys, allow_missing_keys=False)
        self.image_key, self.label_key, self.name_key = image_key, label_key, name_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            kspace = d.pop(key)
            if not torch.is_tensor(kspace) or not kspace.is_complex() or kspace.ndim != 4:
                raise ValueError(f"`{key}` must be complex k-space (S, C, H, W), got {getattr(kspace, 'shape', kspace)}")
            d[self.image_key] = torch.cat([kspace.real, kspace.imag], dim=1).permute(1, 2, 3, 0).float().contiguous()
            name = d.get(self.name_key, Path(str(d.get(f"{key}_path", "case"))).stem)
            d[f"{self.image_key}_meta_dict"] = {
                "filename_or_obj": str(name),
                "affine": torch.eye(4, dtype=torch.float64),
                "spatial_shape": torch.tensor(d[self.image_key].shape[1:]),
            }
        if self.label_key in d and torch.is_tensor(d[self.label_key]):
            d[self.label_key] = d[self.label_key].permute(1, 2, 0).unsqueeze(0).float().contiguous()
        return d


class SaveMagnituded(MapTransform):
    """Write a reconstructed magnitude volume as NIfTI ``{output_dir}/{case_id}_{postfix}.nii.gz``.

    MONAI's ``SaveImaged`` squeezes or appends singleton axes in ways that turn a single slice into a 2D or
    4D file; this writes exactly (H, W, S) float32 with the affine of the meta dictionary.

    Args:
        keys: the prediction key, float (1, H, W, S) or (H, W, S).
        meta_key: the meta dictionary written by :class:`KSpaceToChannelsd` (``filename_or_obj``, ``affine``).
        output_dir: the output folder (created if needed).
        output_postfix: appended to the case id.
    """

    def __init__(
        self,
        keys: str | Sequence[str] = "pred",
        meta_key: str = "image_meta_dict",
        output_dir: str = "./out",
        output_postfix: str = "recon",
    ) -> None:
        super().__init__(keys, allow_missing_keys=False)
        self.meta_key, self.output_dir, self.output_postfix = meta_key, Path(output_dir), output_postfix

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        import nibabel as nib

        d = dict(data)
        meta = d.get(self.meta_key) or {}
        name = str(meta.get("filename_or_obj", "case"))
        affine = np.asarray(meta.get("affine", np.eye(4)), dtype=np.float64)
        for key in self.key_iterator(d):
            volume = torch.as_tensor(d[key]).detach().cpu().float()
            if volume.ndim == 4 and volume.shape[0] == 1:
                volume = volume[0]
            if volume.ndim != 3:
                raise ValueError(f"`{key}` must be a magnitude volume (1, H, W, S) or (H, W, S), got {tuple(volume.shape)}")
            self.output_dir.mkdir(parents=True, exist_ok=True)
            nib.save(
                nib.Nifti1Image(volume.numpy(), affine),
                str(self.output_dir / f"{Path(name).name}_{self.output_postfix}.nii.gz"),
            )
        return d
