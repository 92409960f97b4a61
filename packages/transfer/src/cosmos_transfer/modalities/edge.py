"""Edge control: Canny edges of the frames with random thresholds, computed on the fly."""

from __future__ import annotations

import numpy as np

from cosmos_transfer.modalities.base import OnTheFlyModality


def canny_thresholds(rng: np.random.Generator) -> tuple[int, int]:
    """``(lower, upper)``: lower in [20, 99], upper = min(255, lower + [50, 149]); one pair per clip.

    The training draw of the reference's AddControlInputEdge (``datasets/augmentors/control_input.py``).
    """
    lower = int(rng.integers(20, 100))
    upper = min(255, lower + int(rng.integers(50, 150)))
    return lower, upper


def canny_frames(frames: np.ndarray, lower: int, upper: int) -> np.ndarray:
    """Canny edge maps of RGB frames ``[T, H, W, 3]`` (OpenCV on the 3-channel image), as 3 equal channels."""
    import cv2

    edges = np.empty(frames.shape[:3], dtype=np.uint8)
    for index, frame in enumerate(frames):
        edges[index] = cv2.Canny(np.ascontiguousarray(frame), lower, upper)
    return np.broadcast_to(edges[..., None], (*edges.shape, 3))


class EdgeModality(OnTheFlyModality):
    name = "edge"
    help = "Canny edges with random thresholds, computed on the fly (no files)"

    def compute_frames(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return canny_frames(frames, *canny_thresholds(rng))


MODALITY = EdgeModality()
