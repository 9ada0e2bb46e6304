"""Per-bundle test data for the shared bundle harness (``tests/bundles/test_bundle_harness.py``).

Every folder ``bundles/<name>/`` needs a module ``tests/bundles/bundle_specs/<name>.py``; the
harness fails for a bundle without one, telling you to add it. A spec module provides:

``write_tiny_dataset(root: Path) -> tuple[dict, list[str]]``
    Write a tiny synthetic dataset (a couple of cases, volumes of a few thousand voxels) into
    ``root`` in the layout the bundle's ``inference.json`` / ``train.json`` read by default.
    Return the config overrides that point the bundle at it and keep runs fast (at least
    ``{"dataset_dir": str(root)}``; e.g. a small ``roi_size``) and the case ids written.

``TRAIN_OVERRIDES: dict``
    Extra overrides for the one-iteration ``train.json`` and the ``evaluate.json`` runs (tiny crop,
    batch size 1, validation every epoch). The harness adds ``train#trainer#max_epochs=1`` and
    ``train#trainer#epoch_length=1`` itself.

``REAL_LAYOUTS: dict[str, Callable[[Path], dict]]``
    For each dataset named in ``metadata.json``'s ``medpipe.datasets`` (a
    ``data_manifests/<dataset>.json``): write a few small fake files laid out as that manifest
    describes and return the overrides (``dataset_dir`` and whatever selects the layout) under
    which ``train.json`` reads them.

``EXPORT: dict``
    Keyword arguments for ``monai.bundle.ckpt_export`` (e.g. ``{"use_trace": True,
    "input_shape": [1, 4, 16, 16, 16]}``); ``input_shape`` is also the test input for comparing
    the exported model with the eager one.

``check_quality(tmp_path: Path, run_inference) -> tuple[str, float, float]``
    Prove the shipped ``models/model.pt`` gives a meaningful result on fresh synthetic data:
    write data, call ``run_inference(overrides)`` (runs ``inference.json`` in-process with
    ``output_dir`` etc. from ``overrides``), score the outputs and return
    ``(what, value, threshold)``; the harness asserts ``value >= threshold``.

Optional: ``VERIFY_NET_IN_OUT: dict`` of extra keyword arguments for
``monai.bundle.verify_net_in_out`` (e.g. ``{"n": 2}`` or ``extra_forward_args``).

``metadata.json`` carries a ``medpipe`` section read by the harness::

    "medpipe": {"datasets": ["brats2021"], "inference_outputs": ["{case_id}_seg.nii.gz"],
                "evaluation_outputs": ["metrics.csv"]}

``inference_outputs`` are file patterns under ``output_dir`` (per case), ``evaluation_outputs``
files that ``['configs/train.json', 'configs/evaluate.json']`` writes into ``output_dir``.
"""
