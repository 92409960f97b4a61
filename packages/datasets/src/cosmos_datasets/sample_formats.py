"""The sample dataset (:mod:`cosmos_datasets.samples`) described in every dataset type's metadata format.

    python -m cosmos_datasets.sample_formats SAMPLE_DIR/metadata.json msrvtt

writes ``SAMPLE_DIR/msrvtt.json`` and prints the dataset overrides that load it, so each dataset type
can be tried (and tested) on the same small, real videos.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMATS = ("vad_r1", "vad_r1_chunks", "msrvtt", "kinetics", "http")


def write_sample_format(
    metadata: str | os.PathLike[str], dataset_type: str, *, url_base: str | None = None
) -> dict[str, Any]:
    """Write the sample set's metadata for ``dataset_type`` next to ``metadata``.

    Returns the SingleDatasetConfig fields (besides ``dataset_type``) that load it. ``http`` needs
    ``url_base``, the URL under which the sample folder is served (e.g. ``http://127.0.0.1:8000``).
    """
    metadata = Path(metadata)
    root = metadata.parent
    entries = json.loads(metadata.read_text())
    if dataset_type == "vad_r1":
        return {"metadata": str(metadata), "data_root": str(root)}
    if dataset_type == "vad_r1_chunks":
        # Two chunks per video; the shape enters in the first half, which counts as the anomaly.
        chunked = [{**entry, "chunks": _halves(entry["video_duration_sec"])} for entry in entries]
        return {"metadata": str(_write_json(root / "vad_r1_chunks.json", chunked)), "data_root": str(root)}
    if dataset_type == "msrvtt":
        rows = [
            {"video_id": Path(e["path"]).stem, "caption": [e["anomaly_type"], e["what"]], "split": e["split"]}
            for e in entries
        ]
        return {"metadata": str(_write_json(root / "msrvtt.json", rows)), "mp4_urls": str(root / "videos" / "*.mp4")}
    if dataset_type == "kinetics":
        path = root / "kinetics.csv"
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            for e in entries:
                writer.writerow([e["anomaly_type"], Path(e["path"]).stem, 0, e["video_duration_sec"], e["split"]])
        return {"metadata": str(path), "data_root": str(root / "videos")}
    if dataset_type == "http":
        if not url_base:
            raise ValueError("the http format needs url_base, the URL the sample folder is served under")
        listed = [{**e, "url": f"{url_base.rstrip('/')}/{e['path']}"} for e in entries]
        for entry in listed:
            del entry["path"]
        return {"metadata": str(_write_json(root / "http.json", listed)), "data_root": str(root / "http_cache")}
    raise ValueError(f"unknown sample format {dataset_type!r}; choose one of {', '.join(FORMATS)}")


def _halves(duration: float) -> list[dict[str, Any]]:
    middle = round(duration / 2, 3)
    return [
        {"chunk_index": 0, "start_time_sec": 0.0, "end_time_sec": middle, "is_anomaly": True, "overlap_ratio": 1.0},
        {
            "chunk_index": 1,
            "start_time_sec": middle,
            "end_time_sec": duration,
            "is_anomaly": False,
            "overlap_ratio": 0.0,
        },
    ]


def _write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cosmos_datasets.sample_formats",
        description="Describe the sample dataset in another dataset type's metadata format.",
    )
    parser.add_argument("metadata", help="metadata.json written by python -m cosmos_datasets.samples")
    parser.add_argument("dataset_type", choices=FORMATS)
    parser.add_argument("--url-base", help="http only: the URL the sample folder is served under")
    args = parser.parse_args(argv)
    fields = write_sample_format(args.metadata, args.dataset_type, url_base=args.url_base)
    overrides = [f"dataset.train_dataset.dataset_type={args.dataset_type}"]
    overrides += [f"dataset.train_dataset.{key}={value}" for key, value in fields.items()]
    print(" ".join(overrides))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
