"""medpipe: medical imaging pipelines on MONAI.

Subpackages are imported lazily so that ``import medpipe`` stays cheap; import what you need,
for example ``from medpipe.synthetic import brain_phantom``.
"""

__version__ = "0.1.0"
