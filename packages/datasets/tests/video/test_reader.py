import warnings

import numpy as np
import pytest
import torch
from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.samples import write_corrupt_video, write_truncated_video, write_video
from cosmos_datasets.video import decord_backend, pyav_backend, read_clip, resolve_backend
from cosmos_datasets.video import reader as reader_module

BACKENDS = ["decord", "pyav"]


def grey_levels(clip: torch.Tensor) -> list[int]:
    return [round(v) for v in clip.float().mean(dim=(1, 2, 3)).tolist()]


def frame_value(index: int) -> int:  # the counting_video fixture's frame t has grey level 20 + 5t
    return 20 + 5 * index


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_clip_is_sampled_uniformly(counting_video, backend):
    clip = read_clip(counting_video, 8, (15, 26), backend)
    assert clip.shape == (8, 3, 15, 26) and clip.dtype == torch.uint8
    expected = [frame_value(i) for i in [2, 7, 12, 17, 22, 27, 32, 37]]
    assert np.allclose(grey_levels(clip), expected, atol=2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("start", "end", "indices"), [(2.0, 3.0, [17, 19, 21, 23]), (4.0, None, [33, 35, 37, 39])]
)
def test_time_window_sampling(counting_video, backend, start, end, indices):
    clip = read_clip(counting_video, 4, (32, 64), backend, start_sec=start, end_sec=end)
    assert np.allclose(grey_levels(clip), [frame_value(i) for i in indices], atol=2)


def test_backends_decode_the_same_frames(sample_dataset):
    video = str(next(sample_dataset.parent.glob("videos/*.mp4")))

    def choose(info):
        assert (info.num_frames, info.fps) == (8, 8.0)
        return [0, 3, 3, 7]

    by_decord = decord_backend.read_frames(video, choose)
    by_pyav = pyav_backend.read_frames(video, choose)
    assert by_decord.shape == by_pyav.shape == (4, 32, 32, 3)
    assert np.abs(by_decord.astype(int) - by_pyav.astype(int)).max() <= 2
    decord_clip, pyav_clip = read_clip(video, 6, (24, 20), "decord"), read_clip(video, 6, (24, 20), "pyav")
    assert decord_clip.shape == pyav_clip.shape == (6, 3, 24, 20)
    assert (decord_clip.int() - pyav_clip.int()).abs().max() <= 2


def test_video_decord_rejects_is_decoded_by_pyav(tmp_path):
    # decord 0.6 fails on 48-pixel-wide frames ("DECORDArrayCopyFromTo: The size must exactly match").
    frames = np.stack([np.full((32, 48, 3), 60 + 40 * t, dtype=np.uint8) for t in range(4)])
    video = write_video(tmp_path / "w48.mp4", frames)
    clip = read_clip(video, 4, (32, 48), "decord")
    assert np.allclose(grey_levels(clip), [60, 100, 140, 180], atol=2)


def test_undecodable_error_reports_both_decoders(tmp_path):
    video = write_corrupt_video(tmp_path / "bad.mp4")
    with pytest.raises(VideoDecodeError, match="PyAV could not decode.*decord could not decode"):
        read_clip(video, 4, (8, 8), "decord")


@pytest.mark.parametrize("backend", BACKENDS)
def test_short_clip_is_padded_by_repeating_frames(tmp_path, backend):
    frames = np.stack([np.full((16, 16, 3), 40 + 50 * t, dtype=np.uint8) for t in range(3)])
    video = write_video(tmp_path / "short.mp4", frames)
    clip = read_clip(video, 6, (9, 13), backend)
    assert clip.shape == (6, 3, 9, 13)
    assert np.allclose(grey_levels(clip), [40, 40, 90, 90, 140, 140], atol=2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_file(tmp_path, backend):
    with pytest.raises(VideoDecodeError, match="no such file") as info:
        read_clip(tmp_path / "absent.mp4", 4, (8, 8), backend)
    assert info.value.missing and info.value.path.endswith("absent.mp4")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["corrupt", "truncated", "empty"])
def test_undecodable_files_raise_with_the_path(tmp_path, counting_video, backend, kind):
    path = tmp_path / f"{kind}.mp4"
    if kind == "corrupt":
        write_corrupt_video(path)
    elif kind == "truncated":
        write_truncated_video(counting_video, path)
    else:
        path.write_bytes(b"")
    with pytest.raises(VideoDecodeError) as info:
        read_clip(path, 4, (8, 8), backend)
    assert not info.value.missing
    assert str(path) in str(info.value)


def test_invalid_arguments_fail_before_decoding(counting_video):
    with pytest.raises(ValueError, match="num_frames"):
        read_clip(counting_video, 0, (8, 8), "pyav")
    with pytest.raises(ValueError, match="end_sec"):
        read_clip(counting_video, 4, (8, 8), "pyav", start_sec=2.0, end_sec=1.0)
    with pytest.raises(ValueError, match="unknown decode_backend"):
        read_clip(counting_video, 4, (8, 8), "opencv")


def test_decord_falls_back_to_pyav_with_one_warning(monkeypatch, counting_video):
    real_find_spec = reader_module.importlib.util.find_spec
    monkeypatch.setattr(
        reader_module.importlib.util,
        "find_spec",
        lambda name: None if name == "decord" else real_find_spec(name),
    )
    resolve_backend.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert resolve_backend("decord") == "pyav"
            clip = read_clip(counting_video, 2, (8, 8), "decord")
        assert clip.shape == (2, 3, 8, 8)
        assert len([w for w in caught if "decord" in str(w.message)]) == 1
    finally:
        resolve_backend.cache_clear()
