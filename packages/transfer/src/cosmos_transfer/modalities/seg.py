"""Segmentation control: a random subset of the SAM2-format masks painted in random colours.

As the reference's AddControlInputSeg in training (``datasets/augmentors/control_input.py``): draw
how many masks to show, uniformly in [0, min(100, N)], pick that many without replacement, sort them by
area in the sampled frames (largest first, so smaller objects paint over larger ones) and fill each
with a random colour of HSV h ~ U(0, 1), s ~ U(0.1, 1), v ~ U(0.2, 1). Drawing zero masks gives a
black control. The chosen phrases, joined with ";", become ``segmentation_phrase_all``.
"""

from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Any

import numpy as np

from cosmos_transfer.data.errors import MISALIGNED, ControlFileError
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs, ControlModality, ControlOutput

MAX_MASKS = 100
DECODED_BUDGET_BYTES = 1 << 30
"""Decoded masks kept in memory while sorting them by area; beyond it each mask is decoded twice
(the reference holds all of them, up to 100 x T x H x W bytes)."""


def random_color(rng: np.random.Generator) -> np.ndarray:
    """An RGB uint8 colour of random hue, saturation in [0.1, 1) and value in [0.2, 1)."""
    hue, saturation, value = rng.uniform(0, 1), rng.uniform(0.1, 1), rng.uniform(0.2, 1.0)
    return (np.array(colorsys.hsv_to_rgb(hue, saturation, value)) * 255).astype(np.uint8)


def paint_masks(
    detections: list[dict[str, Any]], window: ClipWindow, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """``(control [T, H, W, 3] at the video's own size, phrases)`` for one sample."""
    from cosmos_transfer.data.seg_pickle import decode_mask

    count = int(rng.integers(0, min(MAX_MASKS, len(detections)) + 1))
    chosen = [int(i) for i in rng.choice(len(detections), size=count, replace=False)] if count else []
    phrases = ";".join(str(detections[i].get("phrase", "")) for i in chosen)
    height, width = window.native_size
    out = np.zeros((window.num_frames, height, width, 3), dtype=np.uint8)
    if not chosen:
        return out, phrases

    def decode(index: int) -> np.ndarray:
        return decode_mask(detections[index], window.frame_start, window.frame_end)

    keep = count * window.num_frames * height * width <= DECODED_BUDGET_BYTES
    decoded: dict[int, np.ndarray] = {}
    areas = {}
    for index in chosen:
        mask = decode(index)
        areas[index] = int(np.count_nonzero(mask))
        if keep:
            decoded[index] = mask
    for index in sorted(chosen, key=lambda i: areas[i], reverse=True):  # stable: ties keep the draw's order
        mask = decoded.pop(index) if keep else decode(index)
        out[mask.astype(bool)] = random_color(rng)
    return out, phrases


class SegModality(ControlModality):
    name = "seg"
    folder = "seg"
    suffix = ".pickle"
    help = (
        "random subset of the SAM2-format masks of seg/<clip>.pickle in random colours; control_inputs --modality seg"
    )

    def rgb_size(self, window: ClipWindow) -> None:
        return None

    def load(self, path: Path, window: ClipWindow) -> list[dict[str, Any]]:
        from cosmos_transfer.data.seg_pickle import mask_shape, read_seg_pickle

        detections = read_seg_pickle(path)
        for number, detection in enumerate(detections):
            frames, height, width = mask_shape(detection)
            if (height, width) != window.native_size:
                raise ControlFileError(
                    f"{path}: mask {number} is {width}x{height}, but the video {window.video_path} is "
                    f"{window.native_size[1]}x{window.native_size[0]}; masks must have the video's size",
                    path=str(path),
                    category=MISALIGNED,
                )
            if frames < window.frame_end:
                raise ControlFileError(
                    f"{path}: mask {number} covers {frames} frames, but the sample needs {window.describe()} of "
                    f"{window.video_path} (which has {window.video_frames})",
                    path=str(path),
                    category=MISALIGNED,
                )
        return detections

    def compute(self, inputs: ControlInputs, rng: np.random.Generator) -> ControlOutput:
        control, phrases = paint_masks(inputs.data, inputs.window, rng)
        return ControlOutput(control, extra={"segmentation_phrase_all": phrases, "segmentation": inputs.data})


MODALITY = SegModality()
