"""Building blocks shared by medpipe's networks.

``mbconv``: the mobile inverted bottleneck body (expand, depthwise, project).
``reversible``: additive coupling blocks and stacks that train without storing activations.
"""

from medpipe.networks.blocks.mbconv import MBConvBody
from medpipe.networks.blocks.reversible import ReversibleCoupling, ReversibleStack

__all__ = ["MBConvBody", "ReversibleCoupling", "ReversibleStack"]
