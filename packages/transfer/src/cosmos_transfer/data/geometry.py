"""Resolutions, aspect-ratio buckets, aspect-preserving resizes and padding, as the reference's training uses them.

Frames here are numpy uint8 arrays ``[T, H, W, C]`` (what decoders and OpenCV produce); the training
sample's ``[C, T, H, W]`` tensor is made once, by :func:`pad_to_bucket`, which writes every frame
into its place in the padded output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# (width, height) of each aspect-ratio bucket per resolution; from the reference's
# cosmos_transfer1/diffusion/datasets/augmentors/control_input.py (VIDEO_RES_SIZE_INFO).
VIDEO_RES_SIZE_INFO: Mapping[str, Mapping[str, tuple[int, int]]] = {
    "1080": {"1,1": (1024, 1024), "4,3": (1440, 1056), "3,4": (1056, 1440), "16,9": (1920, 1056), "9,16": (1056, 1920)},
    "720": {"1,1": (960, 960), "4,3": (960, 704), "3,4": (704, 960), "16,9": (1280, 704), "9,16": (704, 1280)},
    "512": {"1,1": (512, 512), "4,3": (640, 512), "3,4": (512, 640), "16,9": (640, 384), "9,16": (384, 640)},
    "480": {"1,1": (480, 480), "4,3": (640, 480), "3,4": (480, 640), "16,9": (768, 432), "9,16": (432, 768)},
    "256": {"1,1": (256, 256), "4,3": (320, 256), "3,4": (256, 320), "16,9": (320, 192), "9,16": (192, 320)},
    # cosmos-run's own, for the tiny CPU experiments (multiples of 16: 8x tokenizer, 2x2 patches)
    "64": {"1,1": (64, 64), "4,3": (80, 64), "3,4": (64, 80), "16,9": (112, 64), "9,16": (64, 112)},
}
RESOLUTIONS = tuple(VIDEO_RES_SIZE_INFO)

# The candidates of the reference's detect_aspect_ratio (diffusion/inference/inference_utils.py), in its order.
_ASPECT_RATIOS = (("16,9", 16 / 9), ("4,3", 4 / 3), ("1,1", 1.0), ("3,4", 3 / 4), ("9,16", 9 / 16))

CONTROL_RESOLUTION = "720"
"""On-the-fly controls are computed at (at most) the 720p bucket whatever the training resolution,
as the reference's ``resize_frames`` does before Canny and blurs."""


def aspect_ratio_key(width: int, height: int) -> str:
    """The nearest bucket (``"16,9"``, ``"4,3"``, ``"1,1"``, ``"3,4"``, ``"9,16"``) of a frame size."""
    ratio = width / height
    return min(_ASPECT_RATIOS, key=lambda item: (item[1] - ratio) ** 2)[0]


def bucket_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """``(width, height)`` of the bucket."""
    return VIDEO_RES_SIZE_INFO[resolution][aspect_ratio]


def fit_size(size: tuple[int, int], bucket: tuple[int, int]) -> tuple[int, int]:
    """``(h, w)`` of a frame of ``size = (H, W)`` scaled, keeping its aspect ratio, to fit ``bucket = (W_t, H_t)``.

    As the reference's ResizeLargestSideAspectPreserving: scale min(W_t/W, H_t/H), rounded half up.
    """
    height, width = size
    ratio = min(bucket[0] / width, bucket[1] / height)
    return int(ratio * height + 0.5), int(ratio * width + 0.5)


def working_size(size: tuple[int, int], aspect_ratio: str) -> tuple[int, int]:
    """``(h, w)`` at which on-the-fly controls see the frames: shrunk to fit the 720p bucket, never enlarged."""
    height, width = size
    bucket_w, bucket_h = bucket_size(CONTROL_RESOLUTION, aspect_ratio)
    ratio = min(bucket_w / width, bucket_h / height)
    if ratio >= 1:
        return size
    return int(ratio * height + 0.5), int(ratio * width + 0.5)


def _frame_size(frames: np.ndarray) -> tuple[int, int]:
    return int(frames.shape[1]), int(frames.shape[2])


def resize_bicubic(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Frames ``[T, H, W, C]`` resized to ``size = (h, w)`` with antialiased bicubic interpolation.

    The reference resizes with torchvision's bicubic ``antialias=True``, which follows Pillow's
    bicubic filter (a = -0.5, support widened when shrinking); Pillow is what runs here.
    """
    from PIL import Image

    if _frame_size(frames) == tuple(size):
        return frames
    height, width = size
    channels = frames.shape[3]
    out = np.empty((frames.shape[0], height, width, channels), dtype=np.uint8)
    for index, frame in enumerate(frames):
        if channels == 3:
            image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
            out[index] = np.asarray(image.resize((width, height), Image.Resampling.BICUBIC))
        else:
            for channel in range(channels):
                plane = Image.fromarray(np.ascontiguousarray(frame[:, :, channel]), mode="L")
                out[index, :, :, channel] = np.asarray(plane.resize((width, height), Image.Resampling.BICUBIC))
    return out


def resize_cv2(frames: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """Frames ``[T, H, W, C]`` resized to ``size = (h, w)`` with an OpenCV interpolation (``cv2.INTER_*``)."""
    import cv2

    if _frame_size(frames) == tuple(size):
        return frames
    height, width = size
    out = np.empty((frames.shape[0], height, width, frames.shape[3]), dtype=np.uint8)
    for index, frame in enumerate(frames):
        resized = cv2.resize(np.ascontiguousarray(frame), (width, height), interpolation=interpolation)
        out[index] = resized.reshape(height, width, frames.shape[3])
    return out


def _pad(canvas: np.ndarray, axis: int, start: int, length: int, before: int, after: int, reflect: bool) -> None:
    """Fill ``before`` and ``after`` cells around ``canvas[..., start:start + length]`` along ``axis`` (in place).

    ``reflect`` mirrors without repeating the edge cell (torch's "reflect"); otherwise the edge repeats.
    """

    def cells(first: int, stop: int | None, step: int = 1) -> tuple[slice, ...]:
        index = [slice(None)] * canvas.ndim
        index[axis] = slice(first, stop, step)
        return tuple(index)

    end = start + length
    if reflect:
        if before:
            canvas[cells(0, start)] = canvas[cells(start + before, start, -1)]
        if after:
            stop = end - 2 - after
            canvas[cells(end, None)] = canvas[cells(end - 2, stop if stop >= 0 else None, -1)]
    else:
        if before:
            canvas[cells(0, start)] = canvas[cells(start, start + 1)]
        if after:
            canvas[cells(end, None)] = canvas[cells(end - 1, end)]


def _new_uint8_tensor(shape: tuple[int, ...]) -> torch.Tensor:
    """An empty uint8 tensor, in shared memory when this is a DataLoader worker.

    A worker's sample tensors are moved to shared memory to reach the main process, a copy of
    every byte (about 0.26 s for a 121-frame 720p video); allocated there in the first place they
    need none, as torch's own collate does in workers.
    """
    import torch
    from torch.utils.data import get_worker_info

    if get_worker_info() is None:
        return torch.empty(shape, dtype=torch.uint8)
    storage = torch.UntypedStorage._new_shared(int(np.prod(shape)))
    return torch.empty(0, dtype=torch.uint8).set_(storage, 0, shape)


class PaddedFrames:
    """Frames ``[h, w, C]`` placed one by one, centred, into a ``[C, T, H, W]`` bucket canvas, then padded.

    As the reference's ReflectionPadding: the padding mirrors the frame (torch ``reflect``) unless a
    side's padding is as wide as the frame, then it repeats the edge. Placing each frame as it is
    decoded makes the ``[C, T, H, W]`` sample in the same pass.
    """

    def __init__(self, num_frames: int, size: tuple[int, int], bucket: tuple[int, int], channels: int = 3) -> None:
        height, width = size
        target_w, target_h = bucket
        if height > target_h or width > target_w:
            raise ValueError(f"frames of {height}x{width} do not fit the {target_h}x{target_w} bucket")
        self.size, self.bucket = (height, width), bucket
        self.left = (target_w - width) // 2
        self.right = target_w - width - self.left
        self.top = (target_h - height) // 2
        self.bottom = target_h - height - self.top
        self.video = _new_uint8_tensor((channels, num_frames, target_h, target_w))
        self._out = self.video.numpy()

    def put(self, index: int, frame: np.ndarray) -> None:
        """Place frame ``index`` (``[h, w, C]`` uint8)."""
        import cv2

        if frame.shape[2] == 1 or frame.strides[2] == 0:  # one channel, or one broadcast to all (edge maps)
            self.put_planes(index, (frame[:, :, 0],) * frame.shape[2])
        else:
            self.put_planes(index, cv2.split(np.ascontiguousarray(frame)))

    def put_planes(self, index: int, planes: tuple[np.ndarray, ...]) -> None:
        """Place frame ``index`` given as its channel planes ``[h, w]``."""
        height, width = self.size
        for channel, plane in enumerate(planes):
            self._out[channel, index, self.top : self.top + height, self.left : self.left + width] = plane

    def finish(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(video [C, T, H, W] uint8, padding_mask [1, H, W] float32 with 1 = padded, image_size float32
        [H, W, h, w])`` once every frame is placed."""
        import torch

        height, width = self.size
        left, right, top, bottom = self.left, self.right, self.top, self.bottom
        reflect = max(left, right) < width and max(top, bottom) < height
        out = self._out
        _pad(out[:, :, top : top + height], 3, left, width, left, right, reflect)
        _pad(out, 2, top, height, top, bottom, reflect)
        target_w, target_h = self.bucket
        padding_mask = torch.ones((1, target_h, target_w), dtype=torch.float32)
        padding_mask[:, top : top + height, left : left + width] = 0
        image_size = torch.tensor([target_h, target_w, height, width], dtype=torch.float32)
        return self.video, padding_mask, image_size


def pad_to_bucket(frames: np.ndarray, bucket: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frames ``[T, h, w, C]`` centred in the ``bucket = (W, H)`` canvas and padded (see :class:`PaddedFrames`)."""
    padded = PaddedFrames(frames.shape[0], frames.shape[1:3], bucket, frames.shape[3])
    for index, frame in enumerate(frames):
        padded.put(index, frame)
    return padded.finish()
