"""Clips cut from a source video: exactly the frames of the span, at the source's rate and size."""

from __future__ import annotations

import numpy as np
import pytest
from cosmos_datasets.errors import VideoDecodeError
from cosmos_transfer.data.video_io import Mp4Writer, probe_video, read_window
from cosmos_transfer.preprocess.clips import cut_clip
from cosmos_transfer.preprocess.video_folder import read_video_folder


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "source.mp4"
    with Mp4Writer(path, 24) as writer:
        for t in range(48):
            writer.write(np.full((32, 48, 3), 5 * t, np.uint8))
    return path


def test_span_is_cut_frame_exactly(source, tmp_path):
    target = tmp_path / "clip.mp4"
    assert cut_clip(source, target, 0.5, 1.25) == 18  # frames 12..29 at 24 fps
    probe = probe_video(target)
    assert (probe.num_frames, probe.size, probe.fps) == (18, (32, 48), 24.0)
    levels = read_window(target, 0, 18).reshape(18, -1).mean(axis=1)
    np.testing.assert_allclose(levels, [5 * t for t in range(12, 30)], atol=2.5)


def test_an_empty_span_is_an_error_and_writes_nothing(source, tmp_path):
    with pytest.raises(VideoDecodeError, match="no frame is shown between 5 s and 6 s"):
        cut_clip(source, tmp_path / "none.mp4", 5.0, 6.0)
    assert not (tmp_path / "none.mp4").exists()


def test_video_folder_pairs_videos_with_captions(tmp_path, source):
    for name in ("b", "a", "c"):
        (tmp_path / f"{name}.mp4").write_bytes(source.read_bytes())
    (tmp_path / "a.txt").write_text(" a caption \n")
    (tmp_path / "b.txt").write_text("b caption")
    clips, uncaptioned = read_video_folder(tmp_path)
    assert [(c.name, c.caption) for c in clips] == [("a", "a caption"), ("b", "b caption")]
    assert [p.name for p in uncaptioned] == ["c.mp4"]
