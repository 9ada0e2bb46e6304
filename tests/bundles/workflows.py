"""Build a bundle's MONAI ``ConfigWorkflow`` the way ``python -m monai.bundle run`` does (shared by the bundle tests)."""

from __future__ import annotations

from pathlib import Path

BUNDLES_DIR = Path(__file__).resolve().parents[2] / "bundles"


def bundle_configs(name: str, *files: str) -> list[str]:
    """Paths of ``bundles/<name>/configs/<file>`` for each file."""
    return [str(BUNDLES_DIR / name / "configs" / f) for f in files]


def bundle_workflow(name: str, config_files: list[str], workflow_type, overrides: dict):
    """A ``ConfigWorkflow`` of bundle ``name`` over ``config_files`` (merged in order), with ``overrides``."""
    from monai.bundle import ConfigWorkflow

    return ConfigWorkflow(
        config_file=config_files if len(config_files) > 1 else config_files[0],
        meta_file=bundle_configs(name, "metadata.json")[0],
        logging_file=False,
        workflow_type=workflow_type,
        bundle_root=str(BUNDLES_DIR / name),
        **overrides,
    )
