"""MONAI-compatible transforms, one module per topic; names are re-exported lazily.

``from medpipe.transforms import LoadScand`` imports only ``medpipe.transforms.loading``.
Names not in the table are looked up in the topic modules that exist, so a module added by
another change (k-space undersampling, intensity, wavelets) is found without editing this file,
and a missing module never breaks the others.
"""

from __future__ import annotations

import importlib

_LOCATIONS = {
    "LoadScan": "medpipe.transforms.loading",
    "LoadScand": "medpipe.transforms.loading",
    "load_scan": "medpipe.transforms.loading",
}
_TOPIC_MODULES = ("loading", "kspace", "recon_io", "brats", "intensity", "wavelet")

__all__ = sorted(_LOCATIONS)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _LOCATIONS:
        return getattr(importlib.import_module(_LOCATIONS[name]), name)
    for topic in _TOPIC_MODULES:
        try:
            module = importlib.import_module(f"medpipe.transforms.{topic}")
        except ModuleNotFoundError as error:
            if error.name != f"medpipe.transforms.{topic}":
                raise
            continue
        public = getattr(module, "__all__", None)
        if (name in public) if public is not None else (hasattr(module, name) and not name.startswith("_")):
            return getattr(module, name)
    raise AttributeError(f"module 'medpipe.transforms' has no attribute {name!r}")
