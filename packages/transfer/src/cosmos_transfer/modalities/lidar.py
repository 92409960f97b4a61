"""LiDAR control (the AV experiments): a rendered LiDAR depth video per clip."""

from __future__ import annotations

from cosmos_transfer.modalities.video_file import VideoFileModality


class LidarModality(VideoFileModality):
    name = "lidar"
    folder = "lidar"
    help = "rendered LiDAR depth video per clip (lidar/<clip>.mp4, frame-aligned, same size)"


MODALITY = LidarModality()
