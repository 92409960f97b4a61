"""HD-map control (the AV experiments): a rendered HD-map video per clip."""

from __future__ import annotations

from cosmos_transfer.modalities.video_file import VideoFileModality


class HDMapModality(VideoFileModality):
    name = "hdmap"
    folder = "hdmap"
    help = "rendered HD-map video per clip (hdmap/<clip>.mp4, frame-aligned, same size)"


MODALITY = HDMapModality()
