"""Small real videos and metadata files that the dataset tests build for themselves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.samples import generate_sample_dataset, write_video

COUNTING_FRAMES = 40
COUNTING_FPS = 8


def counting_value(index: int) -> int:
    """Grey level of frame ``index`` of the counting video."""
    return 20 + 5 * index


@pytest.fixture(scope="session")
def counting_video(tmp_path_factory) -> Path:
    """40 flat grey 32x64 frames at 8 fps (frame t has grey level 20 + 5t), a keyframe every 4 frames."""
    frames = np.stack([np.full((32, 64, 3), counting_value(t), dtype=np.uint8) for t in range(COUNTING_FRAMES)])
    return write_video(tmp_path_factory.mktemp("counting") / "count.mp4", frames, fps=COUNTING_FPS, gop=4)


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory) -> Path:
    """18 sample videos (3 per class: one train, one val, one test each); returns the metadata path."""
    return generate_sample_dataset(tmp_path_factory.mktemp("samples"), num_videos=18, frames=8, size=(32, 32))


@pytest.fixture
def write_metadata(tmp_path):
    """``write_metadata(entries, name="meta.json")``: a JSON array (or JSONL for ``*.jsonl``) file."""

    def write(entries: list[dict], name: str = "meta.json") -> Path:
        path = tmp_path / name
        if name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(e) + "\n" for e in entries))
        else:
            path.write_text(json.dumps(entries, indent=2))
        return path

    return write


@pytest.fixture
def small_config():
    """``small_config(**fields)``: a SingleDatasetConfig for tiny, fast clips."""

    def make(**fields) -> SingleDatasetConfig:
        defaults = {"num_video_frames": 4, "resolution": [16, 16], "workers": 0, "decode_backend": "pyav"}
        return SingleDatasetConfig(**{**defaults, **fields})

    return make
