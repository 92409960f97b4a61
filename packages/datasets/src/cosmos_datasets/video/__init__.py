"""Video decoding (decord or PyAV), uniform frame sampling and resizing to uint8 ``[T, 3, H, W]``."""

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video.reader import BACKENDS, read_clip, resolve_backend

__all__ = ["BACKENDS", "VideoDecodeError", "read_clip", "resolve_backend"]
