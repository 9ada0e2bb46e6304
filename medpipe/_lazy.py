"""Lazy re-exports for package ``__init__`` modules.

``import medpipe.metrics`` should not import scipy, torch and MONAI for a name the caller never
uses, and a module that fails to import should only fail the names that live in it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, locations: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` that import each name from its module on first use.

    Args:
        package: the package's ``__name__``, for error messages.
        locations: public name -> the module that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """

    def __getattr__(name: str):
        if name not in locations:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(locations[name]), name)

    def __dir__() -> list[str]:
        return sorted(set(importlib.import_module(package).__dict__) | set(locations))

    return __getattr__, __dir__
