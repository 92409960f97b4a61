import pytest
from cosmos_datasets.video.sampling import (
    VideoInfo,
    check_window,
    clip_indices,
    uniform_indices,
    window_frames,
)


def test_uniform_indices_take_segment_centres():
    assert uniform_indices(0, 16, 4) == [2, 6, 10, 14]
    assert uniform_indices(10, 18, 8) == list(range(10, 18))


def test_short_range_repeats_every_frame_evenly():
    assert uniform_indices(0, 4, 8) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert uniform_indices(5, 6, 3) == [5, 5, 5]


def test_window_converts_seconds_to_frames():
    info = VideoInfo(num_frames=450, fps=30.0)
    assert window_frames(info, 3.0, 10.0) == (90, 300)
    assert window_frames(info, None, None) == (0, 450)


def test_window_past_the_end_is_clamped_to_at_least_one_frame():
    info = VideoInfo(num_frames=40, fps=8.0)
    assert window_frames(info, 4.5, 6.0) == (36, 40)
    assert window_frames(info, 10.0, 12.0) == (39, 40)


def test_clip_indices_sample_inside_the_window():
    indices = clip_indices(VideoInfo(num_frames=40, fps=8.0), 4, start_sec=2.0, end_sec=3.0)
    assert indices == [17, 19, 21, 23]


@pytest.mark.parametrize(("start", "end"), [(-1.0, None), (2.0, 2.0), (3.0, 1.0), (None, 0.0)])
def test_invalid_windows_are_rejected(start, end):
    with pytest.raises(ValueError, match="_sec"):
        check_window(start, end)
