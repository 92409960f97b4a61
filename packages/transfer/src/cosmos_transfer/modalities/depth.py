"""Depth control: a depth video (e.g. Depth-Anything-V2, see ``control_inputs --modality depth``) per clip."""

from __future__ import annotations

from cosmos_transfer.modalities.video_file import VideoFileModality


class DepthModality(VideoFileModality):
    name = "depth"
    folder = "depth"
    help = "depth video per clip (depth/<clip>.mp4, frame-aligned, same size); control_inputs --modality depth"


MODALITY = DepthModality()
