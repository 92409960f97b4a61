"""Every dataset type of the plugin on the same real sample videos: what each sample holds, and that a
corrupt file is skipped and counted inside DataLoader workers without stopping them."""

import json
import shutil

import pytest
import torch
from cosmos_core.registry import DatasetRegistry
from cosmos_datasets import plugin
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.sample_formats import FORMATS, write_sample_format
from cosmos_datasets.samples import write_corrupt_video
from cosmos_datasets.skips import SkipLog

TRAIN_VIDEOS = 6  # of the 18 sample videos


@pytest.fixture
def registry() -> DatasetRegistry:
    registry = DatasetRegistry()
    plugin.cosmos_register_datasets(registry)
    return registry


@pytest.fixture
def samples(sample_dataset, tmp_path):
    """A private copy of the sample set (a test corrupts a file)."""
    root = tmp_path / "samples"
    shutil.copytree(sample_dataset.parent, root)
    return root / "metadata.json"


def load_split(registry, samples, small_config, dataset_type, video_server):
    """(dataset, [(caption, label)], SkipLog) of the train split, through two DataLoader workers."""
    video_server.files = {f"videos/{p.name}": p.read_bytes() for p in samples.parent.glob("videos/*.mp4")}
    fields = write_sample_format(samples, dataset_type, url_base=f"{video_server.url}/files")
    config = small_config(
        dataset_type=dataset_type,
        num_video_frames=3,
        resolution=[12, 20],
        batch_size=4,
        workers=2,
        drop_last=False,
        split="train",
        **fields,
    )
    dataset = registry.get(dataset_type)(config, training=False)
    log = SkipLog()
    loaded = []
    for batch in build_dataloader(dataset, config):
        log.add(batch["skipped"])
        loaded += list(zip(batch["caption"], batch["label"].tolist(), strict=True))
        assert batch["video"].dtype == torch.uint8 and batch["video"].shape[1:] == (3, 3, 12, 20)
    return dataset, loaded, log


@pytest.mark.parametrize("dataset_type", FORMATS)
def test_every_type_loads_the_sample_videos(registry, samples, small_config, dataset_type, video_server):
    dataset, loaded, log = load_split(registry, samples, small_config, dataset_type, video_server)
    per_video = 2 if dataset_type == "vad_r1_chunks" else 1
    assert len(loaded) == len(dataset) == TRAIN_VIDEOS * per_video and log.total == 0
    names = dataset.label_names()
    assert all(0 <= label < len(names) and caption == names[label] for caption, label in loaded)


@pytest.mark.parametrize("dataset_type", FORMATS)
def test_a_corrupt_video_is_skipped_in_workers(registry, samples, small_config, dataset_type, video_server):
    first_train = next(e for e in json.loads(samples.read_text()) if e["split"] == "train")
    write_corrupt_video(samples.parent / first_train["path"])
    dataset, loaded, log = load_split(registry, samples, small_config, dataset_type, video_server)
    per_video = 2 if dataset_type == "vad_r1_chunks" else 1
    assert len(loaded) == (TRAIN_VIDEOS - 1) * per_video
    assert log.counts() == {"missing file": 0, "undecodable": per_video}
