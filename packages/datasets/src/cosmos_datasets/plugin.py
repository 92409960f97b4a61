"""cosmos plugin of cosmos-datasets: registers its dataset types. Nothing heavy is imported here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmos_core.hookspecs import hookimpl

from cosmos_datasets.factories import build_mock, build_vad_r1

if TYPE_CHECKING:
    from cosmos_core.registry import DatasetRegistry


@hookimpl
def cosmos_register_datasets(registry: DatasetRegistry) -> None:
    registry.add("mock", build_mock, help="Random uint8 frames and fixed captions; no files (num_samples items).")
    registry.add(
        "vad_r1",
        build_vad_r1,
        help="VAD-R1 anomaly videos from a JSON/JSONL metadata file (path, anomaly_type, split, ...).",
    )
