"""Vis (blur) control: the frames blurred with random filters and a random down-up resize, on the fly.

The training recipe is the reference's ``random_blur_config`` (``diffusion/config/transfer/blurs.py``)
applied by ``AddControlInputBlurDownUp`` (``datasets/augmentors/control_input.py``):

1. a filter combination: bilateral (p 0.5), gaussian (p 0.3), or bilateral then gaussian (p 0.2);
2. an inner downscale factor from {1, 2, 3, 4}: the filters run on the frames shrunk by it
   (INTER_AREA) and the result is scaled back up (INTER_LINEAR);
3. bilateral: d in [15, 49], sigma_color in [100, 299], sigma_space in [50, 149], 1 to 3 passes;
   gaussian: kernel size in [21, 29] made odd, sigma in U(10.5, 14.5);
4. a down-up resize by a factor in [4, 17]: bicubic with antialiasing down, then back up.

All parameters are drawn once per clip, so every frame of a sample is blurred alike.
"""

from __future__ import annotations

import attrs
import numpy as np

from cosmos_transfer.data.geometry import resize_bicubic, resize_cv2
from cosmos_transfer.modalities.base import OnTheFlyModality

COMBINATIONS = (("bilateral",), ("gaussian",), ("bilateral", "gaussian"))
COMBINATION_PROBABILITIES = (0.5, 0.3, 0.2)
INNER_DOWNSCALE_FACTORS = (1, 2, 3, 4)
DOWNUP_FACTORS = (4, 17)
"""Inclusive range of the down-up factor (``random.randint(4, 16 + 1)`` in the reference)."""


@attrs.frozen
class Bilateral:
    d: int
    sigma_color: int
    sigma_space: int
    passes: int

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        for _ in range(self.passes):
            frame = cv2.bilateralFilter(frame, self.d, self.sigma_color, self.sigma_space)
        return frame


@attrs.frozen
class Gaussian:
    ksize: int
    sigma: float

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        return cv2.GaussianBlur(frame, (self.ksize, self.ksize), sigmaX=self.sigma)


@attrs.frozen
class BlurPlan:
    """One clip's draw of the random blur."""

    filters: tuple[Bilateral | Gaussian, ...]
    inner_downscale: int
    downup_factor: int


def draw_blur_plan(rng: np.random.Generator) -> BlurPlan:
    combination = COMBINATIONS[rng.choice(len(COMBINATIONS), p=COMBINATION_PROBABILITIES)]
    inner = int(rng.choice(INNER_DOWNSCALE_FACTORS))
    filters: list[Bilateral | Gaussian] = []
    for kind in combination:
        if kind == "bilateral":
            filters.append(
                Bilateral(
                    d=int(rng.integers(15, 50)),
                    sigma_color=int(rng.integers(100, 300)),
                    sigma_space=int(rng.integers(50, 150)),
                    passes=int(rng.integers(1, 4)),
                )
            )
        else:
            ksize = int(rng.integers(21, 30))
            filters.append(Gaussian(ksize=ksize + 1 if ksize % 2 == 0 else ksize, sigma=float(rng.uniform(10.5, 14.5))))
    downup = int(rng.integers(DOWNUP_FACTORS[0], DOWNUP_FACTORS[1] + 1))
    return BlurPlan(tuple(filters), inner, downup)


def apply_blur_plan(frames: np.ndarray, plan: BlurPlan) -> np.ndarray:
    """RGB frames ``[T, H, W, 3]`` blurred by ``plan``, at their own size."""
    import cv2

    height, width = frames.shape[1:3]
    if plan.inner_downscale > 1:
        small = (max(1, height // plan.inner_downscale), max(1, width // plan.inner_downscale))
        frames = resize_cv2(frames, small, cv2.INTER_AREA)
    blurred = np.empty_like(frames)
    for index, frame in enumerate(frames):
        frame = np.ascontiguousarray(frame)
        for blur in plan.filters:
            frame = blur(frame)
        blurred[index] = frame
    if plan.inner_downscale > 1:
        blurred = resize_cv2(blurred, (height, width), cv2.INTER_LINEAR)
    reduced = (max(1, int(height / plan.downup_factor)), max(1, int(width / plan.downup_factor)))
    return resize_bicubic(resize_bicubic(blurred, reduced), (height, width))


class VisModality(OnTheFlyModality):
    name = "vis"
    help = "random bilateral/gaussian blur plus a random down-up resize, computed on the fly (no files)"

    def compute_frames(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return apply_blur_plan(frames, draw_blur_plan(rng))


MODALITY = VisModality()
