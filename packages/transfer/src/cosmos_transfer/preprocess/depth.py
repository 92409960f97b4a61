"""Depth videos with Depth-Anything-V2 through transformers, as the reference's ``auxiliary/depth_anything`` makes them.

Every frame goes through the image processor and ``AutoModelForDepthEstimation``; the predicted
depth is scaled back to the frame size (bicubic), the whole video is normalised to 0..255 by its
overall minimum and maximum, and written as a 3-channel mp4 with the clip's frame rate and size, so
it is frame-aligned with the clip. The predictions are kept at the model's resolution between the
two passes (range, then writing), so memory does not grow with the frame size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cosmos_transfer.preprocess.models import load_pretrained, pick_device, require

DEFAULT_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"


class DepthEstimator:
    """Depth-Anything (V2) from a local folder or the local cache."""

    def __init__(
        self,
        name_or_path: str = DEFAULT_MODEL,
        *,
        device: Any = None,
        cache_dir: str | None = None,
        batch_size: int = 8,
    ) -> None:
        transformers = require("transformers", purpose="control_inputs --modality depth")
        import torch

        self.device = device if device is not None else pick_device(None)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.batch_size = batch_size
        flag = "--depth_model"
        self.processor = load_pretrained(
            transformers.AutoImageProcessor.from_pretrained,
            name_or_path,
            what="the Depth-Anything image processor",
            flag=flag,
            cache_dir=cache_dir,
        )
        self.model = load_pretrained(
            transformers.AutoModelForDepthEstimation.from_pretrained,
            name_or_path,
            what="the Depth-Anything model",
            flag=flag,
            cache_dir=cache_dir,
            dtype=self.dtype,
        )
        self.model.to(self.device).eval()

    def predict(self, frames: list[np.ndarray]) -> Any:
        """Predicted depth of RGB frames ``[H, W, 3]`` at the model's resolution: float32 tensor ``[B, h, w]``."""
        import torch

        inputs = self.processor(images=frames, return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device, dtype=self.dtype)
        with torch.inference_mode():
            return self.model(pixel_values=pixel_values).predicted_depth.float().cpu()


def _to_frame_size(depth: Any, size: tuple[int, int]) -> Any:
    import torch

    return torch.nn.functional.interpolate(depth[:, None], size=size, mode="bicubic", align_corners=False)[:, 0]


def write_depth_video(
    video_path: Path, output_path: Path, estimator: DepthEstimator, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``output_path`` (depth mp4 of ``video_path``); returns the number of frames.

    ``progress(n)`` is called after each batch of ``n`` frames.
    """
    from cosmos_transfer.data.video_io import Mp4Writer, iter_frames, probe_video

    probe = probe_video(video_path)
    predictions = []
    batch: list[np.ndarray] = []
    for frame in iter_frames(video_path):
        batch.append(frame)
        if len(batch) == estimator.batch_size:
            predictions.append(estimator.predict(batch))
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        predictions.append(estimator.predict(batch))
        if progress:
            progress(len(batch))
    low, high = np.inf, -np.inf
    for depth in predictions:
        full = _to_frame_size(depth, probe.size)
        low, high = min(low, float(full.min())), max(high, float(full.max()))
    frames = 0
    with Mp4Writer(output_path, probe.fps) as writer:
        for depth in predictions:
            full = _to_frame_size(depth, probe.size).numpy()
            normalised = ((full - low) / (high - low + 1e-8) * 255.0).astype(np.uint8)
            for plane in normalised:
                writer.write(np.repeat(plane[:, :, None], 3, axis=2))
                frames += 1
    return frames
