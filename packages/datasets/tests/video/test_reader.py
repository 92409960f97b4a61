import warnings

import numpy as np
import pytest
import torch
from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.samples import (
    write_audio_only,
    write_corrupt_video,
    write_empty_video,
    write_truncated_video,
    write_video,
)
from cosmos_datasets.video import decord_backend, probe_duration, pyav_backend, read_clip, resolve_backend
from cosmos_datasets.video import reader as reader_module
from cosmos_datasets.video.reader import decoder_threads

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
@pytest.mark.parametrize(("start", "end", "indices"), [(2.0, 3.0, [17, 19, 21, 23]), (4.0, None, [33, 35, 37, 39])])
def test_time_window_sampling(counting_video, backend, start, end, indices):
    clip = read_clip(counting_video, 4, (32, 64), backend, start_sec=start, end_sec=end)
    assert np.allclose(grey_levels(clip), [frame_value(i) for i in indices], atol=2)


def test_backends_decode_the_same_frames(sample_dataset):
    video = str(next(sample_dataset.parent.glob("videos/*.mp4")))

    def choose(info):
        assert (info.num_frames, info.fps) == (8, 8.0)
        assert info.times == pytest.approx([i / 8 for i in range(8)])
        return [0, 3, 3, 7]

    by_decord = decord_backend.read_frames(video, choose, (32, 32))
    by_pyav = pyav_backend.read_frames(video, choose, (32, 32))
    assert by_decord.shape == by_pyav.shape == (4, 32, 32, 3)
    assert np.abs(by_decord.astype(int) - by_pyav.astype(int)).max() <= 2
    decord_clip, pyav_clip = read_clip(video, 6, (24, 20), "decord"), read_clip(video, 6, (24, 20), "pyav")
    assert decord_clip.shape == pyav_clip.shape == (6, 3, 24, 20)
    assert (decord_clip.float() - pyav_clip.float()).abs().mean() < 1.5


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


def marked_frames(count: int, size: tuple[int, int]) -> np.ndarray:
    """Dark frames with a bright block in the top-left corner (to see which way is up)."""
    frames = np.full((count, *size, 3), 30, dtype=np.uint8)
    frames[:, : size[0] // 4, : size[1] // 4] = 230
    return frames


def bright_corner(frame: torch.Tensor) -> tuple[int, int]:
    """(row, column) half of ``frame`` [3, H, W] where the bright block is: 0 top/left, 1 bottom/right."""
    rows, columns = torch.nonzero(frame.float().mean(0) > 130, as_tuple=True)
    height, width = frame.shape[1:]
    return int(rows.float().mean() > height / 2), int(columns.float().mean() > width / 2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("rotation", "corner"), [(90, (1, 0)), (180, (1, 1)), (-90, (0, 1))])
def test_rotated_videos_come_out_upright(tmp_path, backend, rotation, corner):
    # A 32x48 (portrait after a quarter turn) clip; the requested resolution is of the upright frame.
    video = write_video(tmp_path / "rotated.mp4", marked_frames(4, (32, 48)), rotation=rotation)
    clip = read_clip(video, 2, (40, 24), backend)
    assert clip.shape == (2, 3, 40, 24)
    assert bright_corner(clip[0]) == corner


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_frame_sizes(tmp_path, backend):
    video = write_video(tmp_path / "odd.mp4", marked_frames(3, (31, 45)), pix_fmt="yuv444p")
    clip = read_clip(video, 3, (17, 23), backend)
    assert clip.shape == (3, 3, 17, 23) and bright_corner(clip[0]) == (0, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_variable_frame_rate_windows_follow_timestamps(tmp_path, backend):
    times = [0.0, 0.1, 0.2, 0.3, 1.0, 2.0, 3.0, 4.0]
    frames = np.stack([np.full((16, 16, 3), 20 + 25 * i, dtype=np.uint8) for i in range(len(times))])
    video = write_video(tmp_path / "vfr.mp4", frames, fps=2, times=times)
    # From 1.5 s to 3.5 s frame 4 (shown from 1.0 s) is on screen for 0.5 s, frame 5 for 1 s and
    # frame 6 for 0.5 s; sampling evenly in time gives frame 5 twice.
    clip = read_clip(video, 4, (16, 16), backend, start_sec=1.5, end_sec=3.5)
    assert np.allclose(grey_levels(clip), [20 + 25 * i for i in (4, 5, 5, 6)], atol=2)
    early = read_clip(video, 4, (16, 16), backend, end_sec=0.4)
    assert np.allclose(grey_levels(early), [20 + 25 * i for i in range(4)], atol=2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["audio-only", "no-frames"])
def test_files_without_video_frames_are_undecodable(tmp_path, backend, kind):
    path = tmp_path / f"{kind}.mp4"
    if kind == "audio-only":
        write_audio_only(path)
    else:
        write_empty_video(path)
    with pytest.raises(VideoDecodeError, match="no video stream|no frames") as info:
        read_clip(path, 4, (8, 8), backend)
    assert not info.value.missing


def test_an_unexpected_decoder_exception_becomes_a_decode_error(monkeypatch, counting_video):
    def broken(*args):
        raise IndexError("list index out of range")

    monkeypatch.setattr(pyav_backend, "read_frames", broken)
    with pytest.raises(VideoDecodeError, match="IndexError while decoding: list index out of range"):
        read_clip(counting_video, 2, (8, 8), "pyav")


def test_one_decoder_thread_inside_dataloader_workers():
    from torch.utils.data import DataLoader

    assert decoder_threads() == 0
    seen = list(DataLoader(_ThreadsSeen(), num_workers=1, batch_size=None))
    assert seen == [1]


class _ThreadsSeen(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> int:
        return decoder_threads()


@pytest.mark.parametrize("name", ["ok", "missing", "audio"])
def test_probe_duration(tmp_path, counting_video, name):
    if name == "ok":
        assert probe_duration(counting_video) == pytest.approx(5.0, abs=0.15)
        return
    path = tmp_path / "absent.mp4" if name == "missing" else write_audio_only(tmp_path / "a.mp4")
    with pytest.raises(VideoDecodeError) as info:
        probe_duration(path)
    assert info.value.missing == (name == "missing")
