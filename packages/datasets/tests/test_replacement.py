import pytest
from cosmos_datasets.dataset_types.base import VideoDataset
from cosmos_datasets.replacement import ReplaceSkipped
from cosmos_datasets.skips import SkippedSample


class Listed(VideoDataset):
    """Items given up front; ``None`` stands for an unloadable one."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        if self.items[index] is None:
            return SkippedSample(index, f"v{index}.mp4", "undecodable: bad")
        return {"index": index, "caption": self.items[index]}

    def label_names(self):
        return ["a", "b"]

    def skipped_at_build(self):
        return [{"path": "gone.mp4", "reason": "missing file: gone"}]


def test_skipped_items_are_replaced_by_the_next_loadable_one_wrapping_around():
    dataset = ReplaceSkipped(Listed(["a", None, None, "b", None]))
    assert dataset[0] == {"index": 0, "caption": "a"}
    assert dataset[1] == {
        "index": 3,
        "caption": "b",
        "skipped": [
            {"path": "v1.mp4", "reason": "undecodable: bad"},
            {"path": "v2.mp4", "reason": "undecodable: bad"},
        ],
    }
    assert dataset[4]["index"] == 0 and len(dataset) == 5
    assert dataset.label_names() == ["a", "b"] and dataset.skipped_at_build()[0]["path"] == "gone.mp4"


def test_gives_up_after_max_attempts():
    with pytest.raises(RuntimeError, match="none of the 2 items from index 0 on could be loaded"):
        ReplaceSkipped(Listed([None, None, "a"]), max_attempts=2)[0]
