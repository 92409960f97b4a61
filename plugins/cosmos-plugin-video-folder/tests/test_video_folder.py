import subprocess
import sys

import attrs
import numpy as np
import pytest
from cosmos_core.plugins import load_plugins
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.replacement import ReplaceSkipped
from cosmos_datasets.samples import write_video
from cosmos_datasets.skips import SkipLog
from cosmos_plugin_video_folder.dataset import VideoFolderDataset


def grey_clip(path, level: int):
    return write_video(path, np.full((4, 16, 16, 3), level, dtype=np.uint8))


@pytest.fixture
def folder(tmp_path):
    """train/: two captioned videos, one in a class folder, one without any caption; test/: one video."""
    root = tmp_path / "videos"
    grey_clip(root / "train" / "crash.mp4", 40)
    (root / "train" / "crash.txt").write_text("a car crash\n\n  two cars collide  \n")
    grey_clip(root / "train" / "walk.mov", 90)
    (root / "train" / "walk.txt").write_text("a person walking\n")
    grey_clip(root / "train" / "juggling_balls" / "clip.mp4", 140)
    grey_clip(root / "train" / "unnamed.mp4", 190)
    (root / "train" / "notes.txt").write_text("not a caption of anything")
    grey_clip(root / "test" / "crash2.mp4", 60)
    (root / "test" / "crash2.txt").write_text("a car crash\n")
    return root


def config(root, **fields) -> SingleDatasetConfig:
    defaults = {
        "dataset_type": "video_folder",
        "data_root": root and str(root),
        "num_video_frames": 2,
        "resolution": [8, 8],
    }
    return SingleDatasetConfig(**{**defaults, "workers": 0, "decode_backend": "pyav", **fields})


def test_sidecar_and_class_folder_captions(folder):
    dataset = VideoFolderDataset(config(folder, split="train"), training=False)
    assert [clip.captions for clip in dataset.clips] == [
        ("a car crash", "two cars collide"),
        ("juggling balls",),
        ("a person walking",),
    ]
    assert dataset.label_names() == ["a car crash", "a person walking", "juggling balls"]
    sample = dataset[1]
    assert (sample["caption"], sample["label"]) == ("juggling balls", 2)
    assert sample["video"].shape == (2, 3, 8, 8) and abs(sample["video"].float().mean().item() - 140) < 3
    assert dataset.skipped_at_build() == [
        {
            "path": str(folder / "train" / "unnamed.mp4"),
            "reason": "missing caption: no unnamed.txt beside unnamed.mp4 and no class folder to name it",
        }
    ]


def test_random_caption_uses_every_sidecar_line(folder):
    training = VideoFolderDataset(config(folder, split="train", random_caption=True), training=True)
    assert {training.pick_caption(training.clips[0].captions) for _ in range(40)} == {
        "a car crash",
        "two cars collide",
    }


def test_loads_through_the_registry_and_dataloader_workers(folder):
    host = load_plugins()
    entry = host.datasets.entry("video_folder")
    assert entry.plugin == "video_folder" and entry.distribution.startswith("cosmos-plugin-video-folder")
    cfg = config(folder, split="train", workers=2, batch_size=2, drop_last=False)
    dataset = entry.obj(cfg, training=True)
    assert isinstance(dataset, ReplaceSkipped)
    log = SkipLog()
    log.add(dataset.skipped_at_build())
    sizes = [batch["video"].shape[0] for batch in build_dataloader(dataset, cfg)]
    assert sizes == [2, 1] and log.counts()["missing caption"] == 1


def test_problems_are_reported(folder, tmp_path):
    with pytest.raises(DatasetConfigError, match="needs data_root"):
        VideoFolderDataset(config(None), training=False)
    with pytest.raises(DatasetConfigError, match=r"is not a folder \(split 'val' reads data_root/val\)"):
        VideoFolderDataset(config(folder, split="val"), training=False)
    with pytest.raises(DatasetConfigError, match="unnamed.mp4: no unnamed.txt beside unnamed.mp4"):
        VideoFolderDataset(config(folder, split="train", skip_missing_files=False), training=False)
    (folder / "test" / "crash2.txt").write_text("\n")
    with pytest.raises(MetadataError, match="crash2.txt: the caption file is empty"):
        VideoFolderDataset(config(folder, split="test"), training=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetConfigError, match="video_folder dataset from .* is empty: 0 videos under"):
        VideoFolderDataset(config(empty), training=False)


def test_caption_to_label(folder):
    mapped = config(folder, split="test", caption_to_label={"a car crash": 0})
    assert VideoFolderDataset(mapped, training=False)[0]["label"] == 0
    with pytest.raises(MetadataError, match="caption 'a car crash' is not in caption_to_label"):
        VideoFolderDataset(attrs.evolve(mapped, caption_to_label={"other": 0}), training=False)


def test_plugin_import_stays_light():
    code = "import sys, cosmos_plugin_video_folder.plugin; print(sorted({'torch', 'av', 'decord'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_caption_suffix_is_an_option_of_the_type_checked_when_the_spec_loads(folder):
    from cosmos_core.config.loader import structure
    from cosmos_datasets.selection import build_dataset, dataset_problems

    registry = load_plugins().datasets
    (folder / "test" / "crash2.caption").write_text("a car crash seen from above\n")
    cfg = structure(
        SingleDatasetConfig, {**attrs.asdict(config(folder, split="test")), "options": {"caption_suffix": ".caption"}}
    )
    assert dataset_problems(cfg, "dataset.test_dataset", registry) == []
    dataset = build_dataset(cfg, registry, training=False, path="dataset.test_dataset")
    assert dataset[0]["caption"] == "a car crash seen from above"
    typo = attrs.evolve(cfg, options={"caption_sufix": ".caption"})
    assert dataset_problems(typo, "dataset.test_dataset", registry) == [
        "dataset.test_dataset.options.caption_sufix: unknown config key; did you mean 'caption_suffix'?"
    ]
    bad = attrs.evolve(cfg, options={"caption_suffix": "caption"})
    (problem,) = dataset_problems(bad, "dataset.test_dataset", registry)
    assert problem.startswith("dataset.test_dataset.options.caption_suffix: caption_suffix must be a file extension")
    mock = attrs.evolve(cfg, dataset_type="mock")
    assert dataset_problems(mock, "dataset.test_dataset", registry) == [
        "dataset.test_dataset.options: dataset type 'mock' declares no options of its own, got ['caption_suffix']"
    ]
