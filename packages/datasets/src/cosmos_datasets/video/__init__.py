"""Video decoding (decord or PyAV), uniform frame sampling in time, resized upright uint8 ``[T, 3, H, W]``."""

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video.probe import probe_duration
from cosmos_datasets.video.reader import BACKENDS, read_clip, resolve_backend

__all__ = ["BACKENDS", "VideoDecodeError", "probe_duration", "read_clip", "resolve_backend"]
