"""Window decoding by frame index, clip spans, and mp4 writing that never leaves half a file."""

from __future__ import annotations

import numpy as np
import pytest
from cosmos_datasets.errors import VideoDecodeError
from cosmos_transfer.data.video_io import Mp4Writer, iter_frames, probe_video, read_window


def grey(index: int) -> int:
    return 10 + 6 * index


@pytest.fixture(scope="module")
def counting_video(tmp_path_factory):
    """40 flat frames at 24 fps, frame t of grey level 10 + 6t; a keyframe every 8 frames."""
    path = tmp_path_factory.mktemp("video") / "count.mp4"
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24, options={"crf": "10", "g": "8"})
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        for t in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((32, 64, 3), grey(t), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_probe(counting_video):
    probe = probe_video(counting_video)
    assert (probe.num_frames, probe.size, probe.fps) == (40, (32, 64), 24.0)
    assert len(probe.keyframes) == 5


@pytest.mark.parametrize("start, count", [(0, 5), (13, 9), (31, 9), (17, 1)])
def test_window_holds_exactly_its_frames(counting_video, start, count):
    frames = read_window(counting_video, start, count)
    assert frames.shape == (count, 32, 64, 3) and frames.dtype == np.uint8
    levels = frames.reshape(count, -1).mean(axis=1)
    np.testing.assert_allclose(levels, [grey(start + i) for i in range(count)], atol=2)


def test_window_scaled_while_decoding(counting_video):
    frames = read_window(counting_video, 4, 3, (18, 40))
    assert frames.shape == (3, 18, 40, 3)
    assert abs(float(frames[1].mean()) - grey(5)) <= 3  # grey levels are 6 apart


def test_window_past_the_end_names_the_frames(counting_video):
    with pytest.raises(VideoDecodeError, match=r"has 40 frames; frames 35\.\.44"):
        read_window(counting_video, 35, 10)


def test_iter_frames_of_a_span(counting_video):
    frames = list(iter_frames(counting_video, start_sec=0.5, end_sec=1.0))  # frames 12..23 at 24 fps
    assert len(frames) == 12
    assert abs(float(frames[0].mean()) - grey(12)) < 2 and abs(float(frames[-1].mean()) - grey(23)) < 2


def test_writer_round_trip_and_odd_sizes(tmp_path):
    path = tmp_path / "odd.mp4"
    with Mp4Writer(path, 12) as writer:
        for t in range(6):
            writer.write(np.full((15, 21, 3), 40 * t, np.uint8))
    probe = probe_video(path)
    assert (probe.num_frames, probe.size, probe.fps) == (6, (15, 21), 12.0)
    assert abs(float(read_window(path, 3, 1).mean()) - 120) < 3


def test_writer_interrupted_leaves_nothing(tmp_path):
    path = tmp_path / "cut.mp4"
    with pytest.raises(KeyboardInterrupt), Mp4Writer(path, 24) as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
