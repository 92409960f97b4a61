"""The corpus encoder: the device works on one batch while the loader brings the next, and the
overlap changes neither the embeddings nor their order."""

from __future__ import annotations

import torch
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.skips import SkipLog
from cosmos_embed.corpus import encode_dataset
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.tasks.common import Encoder
from torch.utils.data import Dataset


class Clips(Dataset):
    """``count`` random uint8 clips [8, 3, 64, 64] (the tiny preset's shape); logs each read in ``events``."""

    def __init__(self, count: int, events: list[str] | None = None) -> None:
        generator = torch.Generator().manual_seed(0)
        self.videos = torch.randint(0, 256, (count, 8, 3, 64, 64), dtype=torch.uint8, generator=generator)
        self.events = events

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict:
        if self.events is not None:
            self.events.append(f"load {index}")
        return {
            "video": self.videos[index],
            "caption": f"clip {index}",
            "label": index % 3,
            "index": index,
            "path": f"clip_{index}.mp4",
        }


class InFlight:
    """What a device forward returns before it has finished: reading it back is an event."""

    def __init__(self, value: torch.Tensor, first: int, events: list[str]) -> None:
        self.value, self.first, self.events = value, first, events

    def cpu(self) -> torch.Tensor:
        self.events.append(f"read {self.first}")
        return self.value


class RecordingEncoder:
    """Embeds clip ``i`` as ``[i]``; logs when each batch's forward is launched."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def videos_async(self, videos: torch.Tensor) -> InFlight:
        first = int(videos[0, 0, 0, 0, 0])
        self.events.append(f"launch {first}")
        return InFlight(videos[:, 0, 0, 0, :1].float(), first, self.events)

    def videos(self, videos: torch.Tensor) -> torch.Tensor:
        return self.videos_async(videos).cpu()


def config(**overrides) -> SingleDatasetConfig:
    settings = {"batch_size": 2, "workers": 0, "drop_last": False, "num_video_frames": 8, "resolution": [64, 64]}
    return SingleDatasetConfig(**(settings | overrides))


def test_the_next_batch_is_loaded_before_the_previous_one_is_read_back():
    events: list[str] = []
    dataset = Clips(5, events)
    dataset.videos[:, 0, 0, 0, 0] = torch.arange(5, dtype=torch.uint8)  # clip i carries i
    embeddings, records = encode_dataset(RecordingEncoder(events), dataset, config(), SkipLog())
    assert events == [
        "load 0", "load 1", "launch 0",
        "load 2", "load 3", "read 0", "launch 2",
        "load 4", "read 2", "launch 4",
        "read 4",
    ]  # fmt: skip
    assert embeddings.flatten().tolist() == [0, 1, 2, 3, 4]
    assert [r["path"] for r in records] == [f"clip_{i}.mp4" for i in range(5)]


def test_worker_decoded_batches_give_the_plain_forwards_embeddings_in_corpus_order():
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny")).eval()
    dataset = Clips(7)
    encoder = Encoder.create(network, "fp32", torch.device("cpu"))
    embeddings, records = encode_dataset(encoder, dataset, config(batch_size=3, workers=2), SkipLog())
    with torch.no_grad():
        expected = network.get_video_embeddings(dataset.videos).visual_proj
    assert [r["path"] for r in records] == [f"clip_{i}.mp4" for i in range(7)]
    torch.testing.assert_close(embeddings, expected, rtol=1e-4, atol=1e-5)
