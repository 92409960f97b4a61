import pytest
import torch
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.mock import MOCK_CAPTIONS, MockDataset


def test_mock_items_follow_the_config_and_repeat_per_index():
    dataset = MockDataset(SingleDatasetConfig(num_samples=7, num_video_frames=3, resolution=[10, 12]))
    assert len(dataset) == 7
    item = dataset[6]
    assert item["video"].shape == (3, 3, 10, 12) and item["video"].dtype == torch.uint8
    assert torch.equal(item["video"], dataset[6]["video"])
    assert not torch.equal(item["video"], dataset[5]["video"])
    assert item["caption"] == MOCK_CAPTIONS[1] and item["captions"] == [MOCK_CAPTIONS[1]]
    assert dataset.label_names()[item["label"]] == item["caption"]
    assert (item["index"], item["path"]) == (6, "mock://6")


def test_seed_changes_the_frames_and_out_of_range_raises():
    config = SingleDatasetConfig(num_samples=2, num_video_frames=1, resolution=[4, 4])
    assert not torch.equal(MockDataset(config, seed=0)[0]["video"], MockDataset(config, seed=1)[0]["video"])
    with pytest.raises(IndexError, match="out of range"):
        MockDataset(config)[2]
