"""A small synthetic Cosmos-Transfer1 dataset in the reference's formats, for tests, benchmarks and demos.

Each clip is a real H.264 video of a bright square moving right over a dark texture, with a caption,
a T5 pickle (random float16 rows of the right shape), and the control files of the file-based
modalities: a frame-aligned depth video (the frames' brightness), a SAM2-format seg pickle (the
square and the frame's lower half) and a keypoint pickle (one standing person per frame, body
points only). No model is involved; the files are what the preparation actions would write.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cosmos_transfer.data.keypoint_pickle import BODY_POINTS, person_record, write_keypoint_pickle
from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.data.seg_pickle import write_seg_pickle
from cosmos_transfer.data.t5_pickle import EMBED_DIM, write_t5_pickle
from cosmos_transfer.data.video_io import Mp4Writer

FILE_MODALITIES = ("depth", "seg", "keypoint")

# A standing figure in COCO body order (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
# ankles) as fractions of (width, height) of its box.
_FIGURE = (
    (0.5, 0.08), (0.45, 0.06), (0.55, 0.06), (0.4, 0.08), (0.6, 0.08), (0.3, 0.25), (0.7, 0.25),
    (0.25, 0.42), (0.75, 0.42), (0.22, 0.58), (0.78, 0.58), (0.38, 0.6), (0.62, 0.6), (0.38, 0.8),
    (0.62, 0.8), (0.38, 0.98), (0.62, 0.98),
)  # fmt: skip


def square_box(index: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` of the square in frame ``index`` of a clip of ``size = (H, W)``."""
    height, width = size
    side = max(4, height // 3)
    left = (index * max(1, width // 40)) % max(1, width - side)
    top = (height - side) // 2
    return top, left, top + side, left + side


def moving_square_frames(num_frames: int, size: tuple[int, int], *, seed: int = 0) -> np.ndarray:
    """RGB uint8 ``[T, H, W, 3]``: the square (230, 200, 60) moving right over a dark blocky texture."""
    height, width = size
    rng = np.random.default_rng(seed)
    texture = rng.integers(20, 70, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = np.repeat(np.repeat(texture, 8, axis=0), 8, axis=1)[:height, :width]
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for index in range(num_frames):
        frames[index] = background
        top, left, bottom, right = square_box(index, size)
        frames[index, top:bottom, left:right] = (230, 200, 60)
    return frames


def figure_keypoints(index: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels [133, 2], scores [133])`` of a figure standing on the square of frame ``index``."""
    top, left, bottom, right = square_box(index, size)
    points = np.zeros((BODY_POINTS, 2))
    scores = np.zeros(BODY_POINTS)
    for number, (fx, fy) in enumerate(_FIGURE):
        points[number] = (left + fx * (right - left), top + fy * (bottom - top))
        scores[number] = 0.9
    return points, scores


def write_sample_clip(
    layout: DatasetLayout,
    name: str,
    frames: np.ndarray,
    *,
    fps: float = 24.0,
    caption: str = "a yellow square moving right",
    modalities: Sequence[str] = FILE_MODALITIES,
    seed: int = 0,
) -> None:
    """Write one clip's video, caption, T5 pickle and the control files of ``modalities``."""
    size = frames.shape[1:3]
    with Mp4Writer(layout.video(name), fps) as writer:
        for frame in frames:
            writer.write(frame)
    layout.metas_dir.mkdir(parents=True, exist_ok=True)
    layout.caption(name).write_text(caption, encoding="utf-8")
    rng = np.random.default_rng(seed)
    tokens = len(caption.split()) + 1
    write_t5_pickle(layout.t5(name), rng.standard_normal((tokens, EMBED_DIM)).astype(np.float16))
    if "depth" in modalities:
        with Mp4Writer(layout.control("depth", name, ".mp4"), fps) as writer:
            for frame in frames:
                writer.write(np.repeat(frame.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2))
    if "seg" in modalities:
        square = np.zeros(frames.shape[:3], dtype=np.uint8)
        for index in range(len(frames)):
            top, left, bottom, right = square_box(index, size)
            square[index, top:bottom, left:right] = 1
        ground = np.zeros(frames.shape[:3], dtype=np.uint8)
        ground[:, size[0] // 2 :] = 1
        write_seg_pickle(layout.control("seg", name, ".pickle"), [("square", square), ("ground", ground)])
    if "keypoint" in modalities:
        people = {}
        for index in range(len(frames)):
            points, scores = figure_keypoints(index, size)
            top, left, bottom, right = square_box(index, size)
            people[index] = [person_record(points, scores, (left, top, right, bottom, 0.95), size)]
        write_keypoint_pickle(layout.control("keypoint", name, ".pickle"), people)


def write_sample_dataset(
    root: str | os.PathLike[str],
    *,
    clips: int = 2,
    num_frames: int = 30,
    size: tuple[int, int] = (72, 128),
    fps: float = 24.0,
    modalities: Sequence[str] = FILE_MODALITIES,
) -> DatasetLayout:
    """``clips`` clips named ``clip0``, ``clip1``, ... of ``num_frames`` frames of ``size = (H, W)``."""
    layout = DatasetLayout(Path(root))
    for number in range(clips):
        frames = moving_square_frames(num_frames, size, seed=number)
        write_sample_clip(layout, f"clip{number}", frames, fps=fps, modalities=modalities, seed=number)
    return layout
