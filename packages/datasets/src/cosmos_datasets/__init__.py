"""cosmos-datasets: video decoding, metadata readers and dataset types for cosmos-run.

Modules: ``config`` (SingleDatasetConfig), ``video`` (read_clip, probe_duration), ``metadata``
(JSON/JSONL/CSV records with their lines), ``entries`` (paths, captions, splits, globs),
``dataset_types`` (mock, vad_r1, vad_r1_chunks, msrvtt, kinetics, http; ``base.ClipDataset`` for
plugin authors), ``http_cache`` (downloads), ``collate``/``skips``/``replacement`` (skipping bad
videos), ``loader`` (build_dataloader), ``samples`` and ``sample_formats`` (a synthetic dataset of real
mp4 files, in every metadata format), ``plugin``. This module imports nothing so that loading the
plugin stays cheap.
"""
