import pytest
import torch
from cosmos_datasets.collate import collate_samples
from cosmos_datasets.skips import SkippedSample


def sample(index: int, **extra) -> dict:
    return {
        "video": torch.full((2, 3, 4, 4), index, dtype=torch.uint8),
        "caption": f"caption {index}",
        "captions": [f"caption {index}"],
        "label": index % 2,
        "index": index,
        "path": f"v{index}.mp4",
        **extra,
    }


def test_skipped_items_are_dropped_and_listed():
    batch = collate_samples([sample(0), SkippedSample(1, "v1.mp4", "undecodable: bad"), sample(2)])
    assert batch["video"].shape == (2, 2, 3, 4, 4) and batch["video"].dtype == torch.uint8
    assert batch["caption"] == ["caption 0", "caption 2"] and batch["path"] == ["v0.mp4", "v2.mp4"]
    assert batch["label"].dtype == torch.long and batch["label"].tolist() == [0, 0]
    assert batch["index"].tolist() == [0, 2]
    assert batch["skipped"] == [{"path": "v1.mp4", "reason": "undecodable: bad"}]


def test_all_skipped_gives_an_empty_batch():
    batch = collate_samples([SkippedSample(0, "a.mp4", "missing file: gone")], tokenize=lambda texts: 1 / 0)
    assert batch["video"].shape[0] == 0 and batch["label"].shape == (0,) and batch["caption"] == []
    assert len(batch["skipped"]) == 1


def test_replacement_skips_are_carried_into_the_batch():
    replaced = sample(4, skipped=[{"path": "v3.mp4", "reason": "undecodable: bad"}])
    batch = collate_samples([sample(0), replaced])
    assert batch["skipped"] == [{"path": "v3.mp4", "reason": "undecodable: bad"}]


def test_tokenize_adds_its_keys():
    def tokenize(texts):
        return {
            "input_ids": torch.tensor([[len(t)] for t in texts]),
            "attention_mask": torch.ones(len(texts), 1),
        }

    batch = collate_samples([sample(0), sample(12)], tokenize=tokenize)
    assert batch["input_ids"].tolist() == [[9], [10]] and batch["attention_mask"].shape == (2, 1)
    with pytest.raises(ValueError, match="'caption'"):
        collate_samples([sample(0)], tokenize=lambda texts: {"caption": texts})


def test_chunk_fields_become_tensors_when_every_sample_has_them():
    chunk = {"is_anomaly": True, "overlap_ratio": 0.5, "chunk_index": 3, "start_sec": 5.0, "end_sec": 10.0}
    batch = collate_samples([sample(0, **chunk), sample(1, **{**chunk, "is_anomaly": False})])
    assert batch["is_anomaly"].tolist() == [True, False] and batch["is_anomaly"].dtype == torch.bool
    assert batch["overlap_ratio"].tolist() == [0.5, 0.5] and batch["chunk_index"].tolist() == [3, 3]
    assert batch["start_sec"].tolist() == [5.0, 5.0] and batch["end_sec"].tolist() == [10.0, 10.0]
    assert "is_anomaly" not in collate_samples([sample(0, **chunk), sample(1)])
