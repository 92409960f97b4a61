"""Controls stored as videos frame-aligned with the RGB clip (depth, HD map, LiDAR renders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosmos_transfer.data.errors import MISALIGNED, ControlFileError
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs, ControlModality, ControlOutput


class VideoFileModality(ControlModality):
    """Reads ``<dataset>/<name>/<clip>.mp4``: the window's frames, decoded straight at the video's training size.

    The file must have at least the frames the window covers and the RGB video's size
    (``examples/process_control_input_data_for_training.md``: "frame-wise aligned ... same [H, W]").
    """

    suffix = ".mp4"

    def rgb_size(self, window: ClipWindow) -> tuple[int, int] | None:
        return None

    def load(self, path: Path, window: ClipWindow) -> np.ndarray:
        from cosmos_datasets.errors import VideoDecodeError

        from cosmos_transfer.data.video_io import probe_video, read_window

        try:
            probe = probe_video(path)
        except VideoDecodeError as err:
            raise ControlFileError(f"{path}: {err.reason}", path=str(path)) from err
        if probe.num_frames < window.frame_end:
            raise ControlFileError(
                f"{path} has {probe.num_frames} frames, but the sample needs {window.describe()} of "
                f"{window.video_path} (which has {window.video_frames})",
                path=str(path),
                category=MISALIGNED,
            )
        if probe.size != window.native_size:
            raise ControlFileError(
                f"{path} is {probe.width}x{probe.height}, but its video {window.video_path} is "
                f"{window.native_size[1]}x{window.native_size[0]}; {self.name} videos must have the video's size",
                path=str(path),
                category=MISALIGNED,
            )
        try:
            return read_window(path, window.frame_start, window.num_frames, window.target_size, probe=probe)
        except VideoDecodeError as err:
            raise ControlFileError(f"{path}: {err.reason}", path=str(path)) from err

    def compute(self, inputs: ControlInputs, rng: np.random.Generator) -> ControlOutput:
        return ControlOutput(inputs.data)
