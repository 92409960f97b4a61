"""Hard videos: other codecs and containers, 10-bit, still images under a video's name, files cut at every
10 %, and an 8K frame. Each decodes to the right frames or raises a VideoDecodeError naming the file
(which datasets turn into a skip with the reason); a DataLoader over all of them never dies; the 8K
clip is decoded at the requested size, never held at full size.

Rotation, odd sizes, variable frame rate, audio-only and zero-frame files are in test_reader.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import attrs
import av
import numpy as np
import pytest
import torch
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset
from cosmos_datasets.dataset_types.vad_r1_chunks import VadR1ChunksDataset
from cosmos_datasets.errors import StillImageError, VideoDecodeError
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.samples import write_audio_only, write_empty_video, write_still_image, write_video
from cosmos_datasets.skips import STILL_IMAGE, SkipLog
from cosmos_datasets.video import probe_duration, read_clip

BACKENDS = ["decord", "pyav"]
LEVELS = [20 + 25 * i for i in range(8)]  # grey level of frame i of the graded clips
SVT = {"preset": "12"}
VP9 = {"deadline": "realtime", "cpu-used": "8"}


def graded_frames(size: tuple[int, int] = (64, 96)) -> np.ndarray:
    return np.stack([np.full((*size, 3), level, dtype=np.uint8) for level in LEVELS])


def grey_levels(clip: torch.Tensor) -> list[int]:
    return [round(v) for v in clip.float().mean(dim=(1, 2, 3)).tolist()]


def encode_or_skip(path, frames, **kwargs):
    """``write_video``, or a skip naming the encoder this PyAV build cannot open."""
    try:
        return write_video(path, frames, **kwargs)
    except (av.FFmpegError, ValueError) as err:
        pytest.skip(f"this PyAV's FFmpeg cannot encode {kwargs.get('codec')} {kwargs.get('pix_fmt')}: {err}")


ENCODINGS = {
    "vp9.webm": {"codec": "libvpx-vp9", "options": VP9},
    "vp9.mkv": {"codec": "libvpx-vp9", "options": VP9},
    "vp9.mp4": {"codec": "libvpx-vp9", "options": VP9},
    "av1.mp4": {"codec": "libsvtav1", "options": SVT},
    "av1.webm": {"codec": "libsvtav1", "options": SVT},
    "av1.mkv": {"codec": "libsvtav1", "options": SVT},
    "h264-10bit.mp4": {"pix_fmt": "yuv420p10le"},
    "hevc-10bit.mkv": {"codec": "libx265", "pix_fmt": "yuv420p10le", "options": {"x265-params": "log-level=error"}},
    "av1-10bit.mkv": {"codec": "libsvtav1", "pix_fmt": "yuv420p10le", "options": SVT},
    # The libvpx bundled with PyAV 18 is 8-bit only; this case skips (with that reason) where it is.
    "vp9-10bit.webm": {"codec": "libvpx-vp9", "pix_fmt": "yuv420p10le", "options": VP9},
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(ENCODINGS))
def test_other_codecs_containers_and_10_bit_decode_the_right_frames(tmp_path, name, backend):
    video = encode_or_skip(tmp_path / name, graded_frames(), fps=8, **ENCODINGS[name])
    clip = read_clip(video, 4, (16, 16), backend)
    assert clip.shape == (4, 3, 16, 16) and clip.dtype == torch.uint8
    assert np.allclose(grey_levels(clip), [LEVELS[i] for i in (1, 3, 5, 7)], atol=3)
    assert probe_duration(video) == pytest.approx(1.0, abs=0.13)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("codec", ["png", "mjpeg"])
def test_a_still_image_named_like_a_video_is_reported_as_one(tmp_path, codec, backend):
    picture = write_still_image(tmp_path / "holiday.mp4", np.zeros((16, 16, 3), dtype=np.uint8), codec=codec)
    kind = "PNG" if codec == "png" else "JPEG"
    with pytest.raises(StillImageError, match=rf"holiday\.mp4: {kind} still image, not a video") as info:
        read_clip(picture, 4, (8, 8), backend)
    assert not info.value.missing
    with pytest.raises(StillImageError, match="still image"):
        probe_duration(picture)


def small_config(**fields) -> SingleDatasetConfig:
    defaults = {"num_video_frames": 2, "resolution": [8, 8], "workers": 0, "decode_backend": "pyav"}
    return SingleDatasetConfig(**{**defaults, **fields})


def test_still_images_are_skipped_or_stop_the_run_per_skip_missing_files(tmp_path):
    write_still_image(tmp_path / "still.mp4", np.zeros((8, 8, 3), dtype=np.uint8))
    write_video(tmp_path / "real.mp4", graded_frames((16, 16)))
    metadata = tmp_path / "meta.json"
    metadata.write_text(
        json.dumps([{"path": "still.mp4", "anomaly_type": "a"}, {"path": "real.mp4", "anomaly_type": "b"}])
    )
    config = small_config(dataset_type="vad_r1", metadata=str(metadata), data_root=str(tmp_path))
    skipped = VadR1Dataset(config, training=False)[0]
    assert skipped.reason == "still image: PNG still image, not a video (a picture renamed to .mp4?)"
    strict = VadR1Dataset(attrs.evolve(config, skip_missing_files=False), training=False)
    with pytest.raises(StillImageError, match=r"cannot read video .*still\.mp4: PNG still image"):
        strict[0]
    chunks = VadR1ChunksDataset(attrs.evolve(config, dataset_type="vad_r1_chunks"), training=False)
    assert [(s["path"], s["reason"].split(":")[0]) for s in chunks.skipped_at_build()] == [
        (str(tmp_path / "still.mp4"), STILL_IMAGE)
    ]


@pytest.fixture(scope="module")
def cut_sources(tmp_path_factory):
    """16-frame clips (keyframe every 4) as mp4 (index at the end), mp4 with the index first, and mkv."""
    root = tmp_path_factory.mktemp("cut")
    frames = np.stack([np.full((32, 48, 3), 20 + 12 * i, dtype=np.uint8) for i in range(16)])
    return {
        "mp4": write_video(root / "plain.mp4", frames, gop=4),
        "faststart.mp4": write_video(root / "fast.mp4", frames, gop=4, container_options={"movflags": "faststart"}),
        "mkv": write_video(root / "clip.mkv", frames, gop=4),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", ["mp4", "faststart.mp4", "mkv"])
def test_files_cut_at_every_tenth_decode_what_is_there_or_raise(tmp_path, cut_sources, layout, backend):
    data = cut_sources[layout].read_bytes()
    levels = {20 + 12 * i for i in range(16)}
    outcomes = []
    for percent in range(10, 100, 10):
        path = tmp_path / f"cut{percent}{cut_sources[layout].suffix}"
        path.write_bytes(data[: len(data) * percent // 100])
        try:
            clip = read_clip(path, 4, (8, 8), backend)
        except VideoDecodeError as error:
            assert error.path == str(path) and not error.missing and error.reason
            outcomes.append("raised")
            continue
        assert clip.shape == (4, 3, 8, 8)
        assert all(min(abs(level - v) for v in levels) <= 3 for level in grey_levels(clip))
        outcomes.append("decoded")
    assert "raised" in outcomes  # a cut that loses the index or every frame cannot pass silently


def test_the_loader_never_dies_on_a_folder_of_hard_files(tmp_path, cut_sources):
    folder = tmp_path / "videos"
    frames = graded_frames()
    files = {
        "vfr.mp4": lambda p: write_video(p, frames, times=[0, 0.1, 0.2, 0.3, 1, 2, 3, 4]),
        "rotated.mp4": lambda p: write_video(p, frames, rotation=90),
        "odd.mp4": lambda p: write_video(p, graded_frames((31, 45)), pix_fmt="yuv444p"),
        "ten-bit.mp4": lambda p: write_video(p, frames, pix_fmt="yuv420p10le"),
        "vp9.webm": lambda p: write_video(p, frames, codec="libvpx-vp9", options=VP9),
        "av1.mkv": lambda p: write_video(p, frames, codec="libsvtav1", options=SVT),
        "audio.mp4": write_audio_only,
        "empty.mp4": write_empty_video,
        "still.mp4": lambda p: write_still_image(p, np.zeros((8, 8, 3), dtype=np.uint8)),
        "cut.mp4": lambda p: p.write_bytes(cut_sources["mp4"].read_bytes()[:2000]),
    }
    for name, make in files.items():
        make(folder / name)
    metadata = tmp_path / "meta.jsonl"
    metadata.write_text("".join(json.dumps({"path": n, "anomaly_type": "x"}) + "\n" for n in files))
    config = small_config(
        dataset_type="vad_r1", metadata=str(metadata), data_root=str(folder), workers=2, batch_size=3, drop_last=False
    )
    log = SkipLog()
    decoded = []
    for batch in build_dataloader(VadR1Dataset(config, training=False), config):
        log.add(batch["skipped"])
        decoded += batch["path"]
        assert batch["video"].shape[1:] == (2, 3, 8, 8) or batch["video"].shape[0] == 0
    assert sorted(p.rsplit("/", 1)[1] for p in decoded) == sorted(
        ["vfr.mp4", "rotated.mp4", "odd.mp4", "ten-bit.mp4", "vp9.webm", "av1.mkv"]
    )
    assert log.counts() == {"missing file": 0, "undecodable": 3, "still image": 1}


EIGHT_K = (4320, 7680)

# Runs in a fresh interpreter: decode the clip with the decoder alone (its own frame buffers set the
# peak), then through read_clip at 64 x 64, and report how far the peak RSS rose above the first.
_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    import av
    import cosmos_datasets.video.reader as reader
    from cosmos_datasets.video import read_clip

    reader.decoder_threads = lambda: 1  # as in a DataLoader worker, so the figure does not depend on cores
    path, backend = sys.argv[1], sys.argv[2]
    with av.open(path) as container:
        container.streams.video[0].thread_count = 1
        for frame in container.decode(video=0):
            pass
        del frame
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clip = read_clip(path, 8, (64, 64), backend)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    corner = clip[:, :, :16, :16].float().mean().item(), clip[:, :, 48:, 48:].float().mean().item()
    print(json.dumps({"rise_kib": after - before, "shape": list(clip.shape), "corner": corner}))
    """
)


@pytest.fixture(scope="module")
def eight_k_clip(tmp_path_factory):
    """Two 7680 x 4320 frames (a bright top-left block on a flat ground), H.264 ultrafast: ~1 s to make."""
    frames = np.full((2, *EIGHT_K, 3), 60, dtype=np.uint8)
    frames[1] = 160
    frames[:, : EIGHT_K[0] // 4, : EIGHT_K[1] // 4] = 250
    options = {"preset": "ultrafast", "crf": "40"}
    return write_video(tmp_path_factory.mktemp("8k") / "8k.mp4", frames, fps=2, options=options)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_8k_clip_is_decoded_at_the_requested_size(eight_k_clip, backend):
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(eight_k_clip), backend], capture_output=True, text=True, check=True
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["shape"] == [8, 3, 64, 64]
    bright, ground = measured["corner"]
    assert bright > 230 and ground < 180
    # One 8K frame as RGB is 7680 * 4320 * 3 bytes = 95 MiB. Converting even one sampled frame to RGB
    # at full size before resizing raises the peak by about that much above what the decoder itself
    # needs; scaling inside the conversion keeps the rise to a few MiB (2 with PyAV, 13 with decord).
    full_frame_kib = EIGHT_K[0] * EIGHT_K[1] * 3 // 1024
    assert measured["rise_kib"] < full_frame_kib // 2, measured
