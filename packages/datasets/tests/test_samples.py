import json
from collections import Counter

import numpy as np
import pytest
from cosmos_datasets import sample_formats
from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.samples import (
    SAMPLE_CLASSES,
    main,
    split_counts,
    write_corrupt_video,
    write_truncated_video,
    write_video,
)
from cosmos_datasets.video import read_clip

REQUIRED = {
    "path",
    "anomaly_type",
    "split",
    "total_frames",
    "fps",
    "video_duration_sec",
    "what",
    "when",
    "where",
    "why",
    "how",
}


def test_sample_videos_decode_and_match_their_metadata(sample_dataset):
    entries = json.loads(sample_dataset.read_text())
    assert len(entries) == 18 and all(set(e) >= REQUIRED for e in entries)
    assert Counter(e["anomaly_type"] for e in entries) == {c.caption: 3 for c in SAMPLE_CLASSES}
    assert Counter(e["split"] for e in entries) == {"train": 6, "val": 6, "test": 6}
    entry = entries[0]
    assert (entry["total_frames"], entry["fps"], entry["video_duration_sec"]) == (8, 8.0, 1.0)
    clip = read_clip(sample_dataset.parent / entry["path"], 8, (32, 32), "pyav")
    assert clip.shape == (8, 3, 32, 32)


def test_the_shape_moves_the_way_the_caption_says(sample_dataset):
    entries = json.loads(sample_dataset.read_text())
    red_right = next(e for e in entries if e["anomaly_type"] == "a red square moving right")
    clip = read_clip(sample_dataset.parent / red_right["path"], 8, (32, 32), "pyav").int()
    red = (clip[:, 0] > 150) & (clip[:, 1] < 100) & (clip[:, 2] < 100)  # [T, H, W]
    columns = [np.mean(np.nonzero(frame.numpy())[1]) for frame in red]
    assert columns[-1] - columns[0] > 8 and all(b >= a for a, b in zip(columns, columns[1:], strict=False))


def test_videos_of_one_class_differ(sample_dataset):
    entries = json.loads(sample_dataset.read_text())
    first, second = [e["path"] for e in entries if e["anomaly_type"] == SAMPLE_CLASSES[0].caption][:2]
    a, b = (read_clip(sample_dataset.parent / path, 4, (32, 32), "pyav").float() for path in (first, second))
    assert (a - b).abs().mean() > 5


def test_split_counts():
    assert split_counts(10) == {"train": 6, "val": 2, "test": 2}
    assert split_counts(2) == {"train": 2, "val": 0, "test": 0}


def test_cli_prints_the_metadata_path(tmp_path, capsys):
    assert main([str(tmp_path / "out"), "--num-videos", "2", "--frames", "2", "--size", "16", "16"]) == 0
    output = capsys.readouterr().out
    metadata = tmp_path / "out" / "metadata.json"
    assert f"metadata: {metadata}" in output and len(json.loads(metadata.read_text())) == 2


def test_broken_video_helpers(tmp_path, sample_dataset):
    source = next(sample_dataset.parent.glob("videos/*.mp4"))
    for broken in (
        write_corrupt_video(tmp_path / "c.mp4"),
        write_truncated_video(source, tmp_path / "t.mp4"),
    ):
        with pytest.raises(VideoDecodeError):
            read_clip(broken, 2, (8, 8), "pyav")


def test_write_video_needs_even_sizes(tmp_path):
    with pytest.raises(ValueError, match="even frame size"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), dtype=np.uint8))


def test_sample_formats_cli_prints_the_overrides(sample_dataset, tmp_path, capsys):
    metadata = tmp_path / "metadata.json"
    metadata.write_text(sample_dataset.read_text())
    assert sample_formats.main([str(metadata), "msrvtt"]) == 0
    output = capsys.readouterr().out.split()
    assert output[0] == "dataset.train_dataset.dataset_type=msrvtt"
    assert f"dataset.train_dataset.metadata={tmp_path}/msrvtt.json" in output
    with pytest.raises(ValueError, match="needs url_base"):
        sample_formats.write_sample_format(metadata, "http")
    with pytest.raises(ValueError, match="unknown sample format 'csv'"):
        sample_formats.write_sample_format(metadata, "csv")
