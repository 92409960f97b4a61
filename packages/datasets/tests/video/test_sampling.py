import pytest
from cosmos_datasets.video.sampling import VideoInfo, check_window, clip_indices, window_frames


def cfr(num_frames: int, fps: float = 1.0) -> VideoInfo:
    return VideoInfo(num_frames=num_frames, fps=fps)


def test_uniform_sampling_takes_segment_centres():
    assert clip_indices(cfr(16), 4) == [2, 6, 10, 14]
    assert clip_indices(cfr(18), 8, start_sec=10.0) == list(range(10, 18))


def test_short_range_repeats_every_frame_evenly():
    assert clip_indices(cfr(4), 8) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert clip_indices(cfr(6), 3, start_sec=5.0) == [5, 5, 5]


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


def test_variable_frame_rate_is_sampled_evenly_in_time():
    # A burst of 4 frames in the first 0.4 s, then one frame a second: index-uniform sampling would
    # spend half the samples on the burst.
    times = (0.0, 0.1, 0.2, 0.3, 1.0, 2.0, 3.0, 4.0)
    info = VideoInfo(num_frames=len(times), fps=len(times) / 5.0, times=times)
    assert clip_indices(info, 5) == [3, 4, 5, 6, 7]
    assert window_frames(info, 0.15, 2.5) == (1, 6)
    assert clip_indices(info, 2, start_sec=0.0, end_sec=1.0) == [2, 3]


@pytest.mark.parametrize(("start", "end"), [(-1.0, None), (2.0, 2.0), (3.0, 1.0), (None, 0.0)])
def test_invalid_windows_are_rejected(start, end):
    with pytest.raises(ValueError, match="_sec"):
        check_window(start, end)


def test_count_must_be_positive():
    with pytest.raises(ValueError, match="count must be at least 1"):
        clip_indices(cfr(4), 0)
