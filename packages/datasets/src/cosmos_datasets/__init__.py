"""cosmos-datasets: video decoding, metadata readers and dataset types for cosmos-run.

Modules: ``config`` (SingleDatasetConfig), ``video`` (read_clip), ``metadata`` (read_records),
``dataset_types`` (mock, vad_r1), ``collate``/``skips``/``replacement`` (skipping bad videos),
``loader`` (build_dataloader), ``samples`` (a synthetic dataset of real mp4 files), ``plugin``.
This module imports nothing so that loading the plugin stays cheap.
"""
