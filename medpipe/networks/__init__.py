"""Network architectures, each in its own module; names are re-exported lazily.

``from medpipe.networks import RevUNet`` imports only ``medpipe.networks.rev_unet``.
Bundle configs refer to these names through ``"_target_": "medpipe.networks.<Name>"``.
"""

from __future__ import annotations

from medpipe._lazy import lazy_exports

_LOCATIONS = {
    "RevUNet": "medpipe.networks.rev_unet",
    "RIM": "medpipe.networks.rim",
    "CIRIM": "medpipe.networks.rim",
    "ConvGRU": "medpipe.networks.rim",
    "ConvMGU": "medpipe.networks.rim",
    "IndRNN": "medpipe.networks.rim",
    "RecurrentVarNet": "medpipe.networks.recurrent_varnet",
    "RecurrentStateInitializer": "medpipe.networks.recurrent_varnet",
    "MultiCoilReconstructor": "medpipe.networks.reconstructor",
    "SensitivityRefinement": "medpipe.networks.sensitivity",
}

__all__ = sorted(_LOCATIONS)
__getattr__, __dir__ = lazy_exports(__name__, _LOCATIONS)
