"""Upscale control (the 4K upscaler): a random 720p crop, degraded by a random downscale, on the fly.

As the reference's AddControlInputUpscale in training (``datasets/augmentors/control_input.py``):
a crop of the 720p bucket size (e.g. 1280x704) at a random place of the full-resolution video becomes
the target video; the control is that crop shrunk by 1/6, 1/3 or 1/2 (p 0.3, 0.5, 0.2; bicubic with
antialiasing) and scaled back to the crop size bilinearly.
"""

from __future__ import annotations

import numpy as np

from cosmos_transfer.data.geometry import CONTROL_RESOLUTION, bucket_size, resize_bicubic, resize_cv2
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs, ControlModality, ControlOutput

SCALES = (1 / 6, 1 / 3, 1 / 2)
SCALE_PROBABILITIES = (0.3, 0.5, 0.2)


def draw_crop(rng: np.random.Generator, size: tuple[int, int], crop: tuple[int, int]) -> tuple[int, int]:
    """``(top, left)`` of a ``crop = (h, w)`` in a frame of ``size = (H, W)``, uniform over where it fits."""
    top = int(rng.integers(0, max(0, size[0] - crop[0]) + 1))
    left = int(rng.integers(0, max(0, size[1] - crop[1]) + 1))
    return top, left


def draw_scale(rng: np.random.Generator) -> float:
    return SCALES[rng.choice(len(SCALES), p=SCALE_PROBABILITIES)]


class UpscaleModality(ControlModality):
    name = "upscale"
    help = "random 720p crop of the full-resolution video, degraded by a 2-6x down-up resize, on the fly (no files)"

    def rgb_size(self, window: ClipWindow) -> tuple[int, int]:
        return window.native_size

    def compute(self, inputs: ControlInputs, rng: np.random.Generator) -> ControlOutput:
        import cv2

        frames = inputs.frames
        if frames is None:
            raise ValueError(f"{self!r} needs the RGB frames")
        crop_w, crop_h = bucket_size(CONTROL_RESOLUTION, inputs.window.aspect_ratio)
        top, left = draw_crop(rng, frames.shape[1:3], (crop_h, crop_w))
        crop = frames[:, top : top + crop_h, left : left + crop_w]
        scale = draw_scale(rng)
        small = (max(1, int(crop_h * scale)), max(1, int(crop_w * scale)))
        # The reference scales back to the bucket's crop size even when the video was smaller than it.
        control = resize_cv2(resize_bicubic(crop, small), (crop_h, crop_w), cv2.INTER_LINEAR)
        return ControlOutput(control, video=np.ascontiguousarray(crop))


MODALITY = UpscaleModality()
