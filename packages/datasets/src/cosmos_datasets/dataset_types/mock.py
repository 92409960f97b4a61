"""``mock``: random frames and fixed captions, no files needed (smoke tests, dry runs)."""

from __future__ import annotations

import torch

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import Sample, VideoDataset

MOCK_CAPTIONS = (
    "a car crash at an intersection",
    "a person falling down",
    "a fire in a building",
    "people fighting in the street",
    "normal traffic on a road",
)


class MockDataset(VideoDataset):
    """``num_samples`` items of random uint8 frames; item ``i`` is the same on every call for one seed.

    Item ``i`` has caption ``MOCK_CAPTIONS[i % 5]`` and that caption's position as label.
    """

    def __init__(self, config: SingleDatasetConfig, *, seed: int = 0) -> None:
        self.config = config
        self.seed = seed

    def __len__(self) -> int:
        return self.config.num_samples

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"mock dataset index {index} out of range [0, {len(self)})")
        height, width = self.config.resolution
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        video = torch.randint(
            0, 256, (self.config.num_video_frames, 3, height, width), generator=generator, dtype=torch.uint8
        )
        label = index % len(MOCK_CAPTIONS)
        caption = MOCK_CAPTIONS[label]
        return {
            "video": video,
            "caption": caption,
            "captions": [caption],
            "label": label,
            "index": index,
            "path": f"mock://{index}",
        }

    def label_names(self) -> list[str]:
        return list(MOCK_CAPTIONS)
