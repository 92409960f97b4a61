"""Batches of Transfer1 samples, and the skipped items they list."""

from __future__ import annotations

import torch
from cosmos_datasets.skips import SkippedSample
from cosmos_transfer.data.collate import collate_transfer


def sample(value: int, **extra):
    return {
        "video": torch.full((3, 2, 4, 4), value, dtype=torch.uint8),
        "fps": 24.0,
        "frame_start": value,
        "aspect_ratio": "16,9",
        "video_name": {"video_path": f"v{value}.mp4"},
        **extra,
    }


def test_stacks_tensors_and_numbers_and_lists_the_rest():
    batch = collate_transfer([sample(1), sample(2)])
    assert batch["video"].shape == (2, 3, 2, 4, 4) and batch["video"][1, 0, 0, 0, 0] == 2
    assert batch["fps"].dtype == torch.float32 and batch["fps"].tolist() == [24.0, 24.0]
    assert batch["frame_start"].dtype == torch.long and batch["frame_start"].tolist() == [1, 2]
    assert batch["aspect_ratio"] == ["16,9", "16,9"] and batch["video_name"][1] == {"video_path": "v2.mp4"}
    assert batch["skipped"] == []


def test_a_batch_of_one_is_a_view():
    item = sample(3)
    batch = collate_transfer([item])
    assert batch["video"].shape == (1, 3, 2, 4, 4) and batch["video"].data_ptr() == item["video"].data_ptr()


def test_skipped_items_are_listed_not_batched():
    skipped = SkippedSample(1, "depth/b.pickle", "misaligned control: depth/b.mp4 has 4 frames")
    carried = {"path": "c.mp4", "reason": "too short: c.mp4 has 3 frames"}
    batch = collate_transfer([sample(1, skipped=[carried]), skipped])
    assert batch["video"].shape[0] == 1 and batch["frame_start"].tolist() == [1]
    assert batch["skipped"] == [skipped.as_record(), carried]
    assert collate_transfer([skipped]) == {"skipped": [skipped.as_record()]}
