"""cosmos plugin of cosmos-datasets: registers its dataset types. Nothing heavy is imported here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmos_core.hookspecs import hookimpl

from cosmos_datasets import factories

if TYPE_CHECKING:
    from cosmos_core.registry import DatasetRegistry


@hookimpl
def cosmos_register_datasets(registry: DatasetRegistry) -> None:
    registry.add(
        "mock", factories.build_mock, help="Random uint8 frames and fixed captions; no files (num_samples items)."
    )
    registry.add(
        "vad_r1",
        factories.build_vad_r1,
        requires=("metadata",),
        help="VAD-R1 anomaly videos from a JSON/JSONL metadata file (path, anomaly_type, split, ...).",
    )
    registry.add(
        "vad_r1_chunks",
        factories.build_vad_r1_chunks,
        requires=("metadata",),
        help="VAD-R1 videos cut into temporal chunks (metadata `chunks`, or chunk_size_sec); one sample per chunk.",
    )
    registry.add(
        "msrvtt",
        factories.build_msrvtt,
        requires=("metadata",),
        help="MSR-VTT video/sentence JSON; videos from the mp4_urls glob, ids from file names.",
    )
    registry.add(
        "kinetics",
        factories.build_kinetics,
        requires=("metadata",),
        help="Kinetics annotation CSV (youtube_id, label, time_start, time_end, split); label text as caption.",
    )
    registry.add(
        "http",
        factories.build_http,
        requires=("metadata",),
        help="Videos listed by HTTP(S) URL in a JSON/JSONL file; downloaded with retries into a local cache.",
    )
