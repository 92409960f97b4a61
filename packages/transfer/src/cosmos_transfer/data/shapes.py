"""Generated Cosmos-Transfer1 clips whose content is a function of their control: coloured shapes on a texture.

Each clip shows one square or disc of a random colour and size moving from a random place in a random
direction (bouncing off the borders) over a flat dark background of a random shade, so a clip's Canny
edges (the ``edge`` control) are the shape's outline in every frame: where it is, which a model can only
know from the control. Writes
the dataset layout's ``videos/<clip>.mp4`` and ``metas/<clip>.txt`` (``"a red disc moving up"``);
``t5_embeddings`` (or ``random_t5=True``, for tests) adds ``t5_xxl/``.

    python -m cosmos_transfer.data.shapes datasets/tiny_shapes --clips 24 --frames 33 --size 64
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.data.t5_pickle import EMBED_DIM, write_t5_pickle
from cosmos_transfer.data.video_io import Mp4Writer

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 210, 40),
    "white": (235, 235, 235),
}
SHAPES = ("square", "disc")


def _direction(velocity: np.ndarray) -> str:
    dy, dx = velocity
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def shape_clip(num_frames: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """RGB uint8 ``[T, size, size, 3]`` frames and their caption."""
    background = np.broadcast_to(rng.integers(15, 60, size=3, dtype=np.uint8), (size, size, 3))
    colour_name = str(rng.choice(list(COLOURS)))
    shape = str(rng.choice(SHAPES))
    side = int(rng.integers(size // 5, size // 3 + 1))
    position = rng.uniform(0, size - side, size=2)
    speed = rng.uniform(size / 40, size / 16)
    angle = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.sin(angle), np.cos(angle)])
    yy, xx = np.mgrid[0:side, 0:side]
    disc = (yy - (side - 1) / 2) ** 2 + (xx - (side - 1) / 2) ** 2 <= (side / 2) ** 2
    mask = disc if shape == "disc" else np.ones((side, side), dtype=bool)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    caption_velocity = velocity.copy()
    for index in range(num_frames):
        frames[index] = background
        top, left = (int(round(v)) for v in position)
        frames[index, top : top + side, left : left + side][mask] = COLOURS[colour_name]
        position += velocity
        for axis in (0, 1):  # bounce
            if not 0 <= position[axis] <= size - side:
                velocity[axis] = -velocity[axis]
                position[axis] = float(np.clip(position[axis], 0, size - side))
    return frames, f"a {colour_name} {shape} moving {_direction(caption_velocity)}"


def write_shapes_dataset(
    root: str | os.PathLike[str],
    *,
    clips: int = 24,
    num_frames: int = 33,
    size: int = 64,
    fps: float = 24.0,
    seed: int = 0,
    random_t5: bool = False,
) -> DatasetLayout:
    """``clips`` clips ``shapes_000`` ... in ``root``; with ``random_t5`` also a random T5 pickle per clip."""
    layout = DatasetLayout(Path(root))
    layout.metas_dir.mkdir(parents=True, exist_ok=True)
    for number in range(clips):
        rng = np.random.default_rng([seed, number])
        frames, caption = shape_clip(num_frames, size, rng)
        name = f"shapes_{number:03d}"
        with Mp4Writer(layout.video(name), fps) as writer:
            for frame in frames:
                writer.write(frame)
        layout.caption(name).write_text(caption + "\n", encoding="utf-8")
        if random_t5:
            tokens = len(caption.split()) + 1
            embedding = rng.standard_normal((tokens, EMBED_DIM)).astype(np.float16)
            write_t5_pickle(layout.t5(name), embedding)
    return layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="dataset folder to write")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--frames", type=int, default=33)
    parser.add_argument("--size", type=int, default=64, help="frame height and width (pixels)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    layout = write_shapes_dataset(args.root, clips=args.clips, num_frames=args.frames, size=args.size, seed=args.seed)
    print(f"wrote {args.clips} clips to {layout.videos_dir} and their captions to {layout.metas_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
