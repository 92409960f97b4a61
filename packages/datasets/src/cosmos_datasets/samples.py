"""A small, real, learnable video dataset in VAD-R1 format, for demos and tests.

Every video shows one coloured shape moving in one direction over a noisy background; its caption
says which ("a red square moving right"), so a model that learns anything at all can tell the
classes apart. Videos are H.264 (yuv420p) mp4 files written with PyAV.

    python -m cosmos_datasets.samples OUT_DIR [--num-videos N]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import attrs
import av
import numpy as np


@attrs.frozen
class SampleClass:
    """One caption class: a shape of one colour moving in one direction."""

    colour: str
    rgb: tuple[int, int, int]
    shape: str
    direction: str

    @property
    def caption(self) -> str:
        return f"a {self.colour} {self.shape} moving {self.direction}"

    @property
    def slug(self) -> str:
        return f"{self.colour}_{self.shape}_{self.direction}"


SAMPLE_CLASSES = (
    SampleClass("red", (220, 40, 40), "square", "right"),
    SampleClass("blue", (40, 80, 235), "circle", "up"),
    SampleClass("green", (40, 200, 60), "triangle", "left"),
    SampleClass("yellow", (235, 220, 40), "square", "down"),
    SampleClass("magenta", (215, 50, 215), "circle", "right"),
    SampleClass("cyan", (40, 215, 225), "triangle", "up"),
)

_MILLISECOND = Fraction(1, 1000)

# Unit motion per direction in image coordinates (x right, y down).
_DIRECTIONS = {"right": (1.0, 0.0), "left": (-1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
_WHERE = {"right": "left", "left": "right", "up": "bottom", "down": "top"}


def write_video(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    *,
    fps: int = 8,
    gop: int | None = None,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    times: Sequence[float] | None = None,
    codec: str = "libx264",
    options: Mapping[str, str] | None = None,
    container_options: Mapping[str, str] | None = None,
) -> Path:
    """Encode RGB uint8 frames ``[T, H, W, 3]`` as a video; the container follows the file suffix.

    The default is H.264 in mp4; ``codec`` picks another of PyAV's encoders (``libvpx-vp9``,
    ``libsvtav1``, ``libx265``) with its ``options`` (the H.264 defaults are crf 18, preset veryfast).
    ``gop`` sets the keyframe interval (default: the encoder's, i.e. one keyframe for short clips).
    ``pix_fmt`` ``yuv420p`` (or its 10-bit ``yuv420p10le``) needs an even H and W; ``yuv444p`` takes any
    size. ``rotation`` stores a counter-clockwise display rotation in degrees, as phones do. ``times``
    gives each frame's presentation time in seconds, for a variable frame rate (``fps`` is then only
    nominal). ``container_options`` go to the muxer (``{"movflags": "faststart"}``: index first).
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames [T, H, W, 3], got {frames.dtype} {frames.shape}")
    height, width = frames.shape[1:3]
    if pix_fmt.startswith("yuv420p") and (height % 2 or width % 2):
        raise ValueError(f"{pix_fmt} needs an even frame size, got {height}x{width}; use pix_fmt='yuv444p'")
    if times is not None and len(times) != len(frames):
        raise ValueError(f"times has {len(times)} entries for {len(frames)} frames")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if options is None:
        options = {"crf": "18", "preset": "veryfast"} if codec == "libx264" else {}
    with av.open(str(path), mode="w", options=dict(container_options or {})) as container:
        stream = container.add_stream(codec, rate=fps, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if gop is not None:
            stream.codec_context.gop_size = gop
        if rotation:
            stream.set_display_rotation(rotation)
        if times is not None:
            stream.codec_context.time_base = _MILLISECOND
        for index, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if times is not None:
                video_frame.pts, video_frame.time_base = round(times[index] * 1000), _MILLISECOND
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return path


def write_audio_only(path: str | os.PathLike[str], *, seconds: float = 0.5, rate: int = 16000) -> Path:
    """An mp4 holding one silent AAC audio stream and no video stream."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = 1024  # one AAC frame
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        for index in range(max(1, int(seconds * rate) // samples)):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, index * samples
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_still_image(path: str | os.PathLike[str], frame: np.ndarray, *, codec: str = "png") -> Path:
    """One RGB uint8 frame ``[H, W, 3]`` as a PNG (or ``codec="mjpeg"``: JPEG) file, whatever ``path``'s suffix.

    A picture renamed ``.mp4`` is what this makes; FFmpeg would decode it as a one-frame video.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="image2pipe") as container:
        stream = container.add_stream(codec, rate=1)
        stream.height, stream.width = frame.shape[:2]
        stream.pix_fmt = "rgb24" if codec == "png" else "yuvj420p"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def write_empty_video(path: str | os.PathLike[str], *, size: tuple[int, int] = (32, 32)) -> Path:
    """A well-formed mp4 whose video track holds no frames."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        container.start_encoding()
    return path


def write_corrupt_video(path: str | os.PathLike[str], *, size: int = 4096, seed: int = 0) -> Path:
    """A file named like a video that holds random bytes (no decoder can open it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def write_truncated_video(
    source: str | os.PathLike[str], path: str | os.PathLike[str], *, keep_fraction: float = 0.5
) -> Path:
    """A copy of the first ``keep_fraction`` of a real video file, as a download cut short leaves it."""
    data = Path(source).read_bytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: max(1, int(len(data) * keep_fraction))])
    return path


def render_clip(cls: SampleClass, *, frames: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Frames ``[T, H, W, 3]`` of ``cls``: its shape crossing the frame with per-video jitter."""
    height, width = size
    radius = min(height, width) * rng.uniform(0.14, 0.2)
    dx, dy = _DIRECTIONS[cls.direction]
    travel = rng.uniform(0.45, 0.6)  # fraction of the frame crossed over the clip
    # Start on the side the shape leaves from, at a random offset across the motion.
    cx0 = width * (0.5 - dx * travel / 2 + (0 if dx else rng.uniform(-0.2, 0.2)))
    cy0 = height * (0.5 - dy * travel / 2 + (0 if dy else rng.uniform(-0.2, 0.2)))
    background = rng.uniform(25, 70, size=3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        progress = t / max(frames - 1, 1)
        cx = cx0 + dx * travel * width * progress
        cy = cy0 + dy * travel * height * progress
        image = background + rng.normal(0.0, 10.0, size=(height, width, 3))
        image[_shape_mask(cls.shape, xx - cx, yy - cy, radius)] = cls.rgb
        out[t] = np.clip(image, 0, 255).astype(np.uint8)
    return out


def _shape_mask(shape: str, x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    if shape == "square":
        return (np.abs(x) <= radius) & (np.abs(y) <= radius)
    if shape == "circle":
        return x**2 + y**2 <= radius**2
    if shape == "triangle":  # pointing up: apex at -radius, base at +radius
        return (y <= radius) & (np.abs(x) <= (y + radius) / 2)
    raise ValueError(f"unknown shape {shape!r}")


def split_counts(n: int) -> dict[str, int]:
    """About 60/20/20 train/val/test; classes with fewer than 3 videos go to train only."""
    if n < 3:
        return {"train": n, "val": 0, "test": 0}
    held_out = max(1, round(0.2 * n))
    return {"train": n - 2 * held_out, "val": held_out, "test": held_out}


def generate_sample_dataset(
    out_dir: str | os.PathLike[str],
    *,
    num_videos: int = 48,
    frames: int = 16,
    size: tuple[int, int] = (64, 64),
    fps: int = 8,
    seed: int = 0,
) -> Path:
    """Write ``num_videos`` mp4 files under ``out_dir/videos`` and ``out_dir/metadata.json``.

    Videos are spread evenly over :data:`SAMPLE_CLASSES`; each class is split about 60/20/20 into
    train/val/test. Metadata paths are relative to ``out_dir`` (use it as ``data_root``). Returns the
    metadata path.
    """
    if num_videos < 1 or frames < 1:
        raise ValueError(f"need num_videos >= 1 and frames >= 1, got {num_videos} and {frames}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    classes = SAMPLE_CLASSES[: min(num_videos, len(SAMPLE_CLASSES))]
    per_class = [num_videos // len(classes) + (i < num_videos % len(classes)) for i in range(len(classes))]
    duration = frames / fps
    entries = []
    for cls, count in zip(classes, per_class, strict=True):
        splits = [name for name, n in split_counts(count).items() for _ in range(n)]
        rng.shuffle(splits)
        for k, split in enumerate(splits):
            relative = f"videos/{cls.slug}_{k:03d}.mp4"
            write_video(out_dir / relative, render_clip(cls, frames=frames, size=size, rng=rng), fps=fps)
            entries.append(_entry(cls, relative, split, frames=frames, fps=fps, duration=duration))
    metadata = out_dir / "metadata.json"
    metadata.write_text(json.dumps(entries, indent=2) + "\n")
    return metadata


def _entry(cls: SampleClass, path: str, split: str, *, frames: int, fps: int, duration: float) -> dict:
    return {
        "path": path,
        "anomaly_type": cls.caption,
        "split": split,
        "total_frames": frames,
        "video_duration_sec": round(duration, 3),
        "fps": float(fps),
        "anomaly_start_frame": 0,
        "anomaly_end_frame": frames - 1,
        "anomaly_start_sec": 0.0,
        "anomaly_end_sec": round(duration, 3),
        "what": f"a {cls.colour} {cls.shape} moves {cls.direction} across the frame",
        "when": "[0.0, 1.0]",
        "where": f"it enters near the {_WHERE[cls.direction]} of the frame",
        "why": f"the {cls.colour} {cls.shape} is the only moving object",
        "how": f"it keeps a steady speed {cls.direction}ward over a noisy background",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cosmos_datasets.samples",
        description="Write a small synthetic video dataset in VAD-R1 metadata format.",
    )
    parser.add_argument("out_dir", help="directory to write videos/ and metadata.json into")
    parser.add_argument("--num-videos", type=int, default=48)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--fps", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    metadata = generate_sample_dataset(
        args.out_dir,
        num_videos=args.num_videos,
        frames=args.frames,
        size=tuple(args.size),
        fps=args.fps,
        seed=args.seed,
    )
    root = metadata.parent.resolve()
    print(f"wrote {args.num_videos} videos; metadata: {metadata.resolve()}")
    print(
        f"use: dataset.train_dataset.dataset_type=vad_r1 dataset.train_dataset.metadata={metadata.resolve()} "
        f"dataset.train_dataset.data_root={root} dataset.train_dataset.split=train"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
