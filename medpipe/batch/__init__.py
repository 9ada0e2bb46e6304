"""Batch processing of folders of scans with a MONAI bundle (``medpipe run`` / ``medpipe report``).

The only layer that knows about folders of cases. One module per concept:

* :mod:`~medpipe.batch.discovery` finds cases (BraTS, nnU-Net ``_0000``, DICOM studies, fastMRI
  ``.h5``); :mod:`~medpipe.batch.series_rules` matches DICOM series to bundle inputs by rules and
  reports missing or ambiguous ones instead of guessing.
* :mod:`~medpipe.batch.engine` runs the bundle's own ``inference.json`` (``preprocessing``,
  ``inferer``, ``postprocessing`` and MONAI's ``SupervisedEvaluator``) with the network loaded
  once, so outputs equal ``python -m monai.bundle run``'s voxel for voxel.
* :mod:`~medpipe.batch.process` runs one case in isolation and renames its finished folder into
  place; :mod:`~medpipe.batch.outputs`, :mod:`~medpipe.batch.stats` and :mod:`~medpipe.batch.qc`
  write metrics, label statistics and QC pictures; :mod:`~medpipe.batch.phi` keeps patient
  identifiers out of logs.
* :mod:`~medpipe.batch.resume` (hashes of input bytes, bundle and settings),
  :mod:`~medpipe.batch.manifest`, :mod:`~medpipe.batch.report` (self-contained HTML),
  :mod:`~medpipe.batch.sharding` and :mod:`~medpipe.batch.dask_backend` scale a run out;
  :mod:`~medpipe.batch.runner` ties them together.

Python use::

    from medpipe.batch.runner import RunOptions, run_batch

    summary = run_batch(RunOptions("brats_mri_revunet_segmentation", "scans/", "out/"))
    summary.exit_code  # 0 when every case is ok or skipped, 2 when some failed
"""
