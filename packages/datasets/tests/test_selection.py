"""What a dataset config must name before anything is built: required fields and existing files."""

import pytest
from cosmos_core.registry import DatasetRegistry
from cosmos_datasets import plugin
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.selection import dataset_problems


@pytest.fixture
def registry() -> DatasetRegistry:
    registry = DatasetRegistry()
    plugin.cosmos_register_datasets(registry)
    return registry


@pytest.mark.parametrize("dataset_type", ["vad_r1", "vad_r1_chunks", "msrvtt", "kinetics", "http"])
def test_a_type_that_reads_metadata_needs_it_set(registry, dataset_type):
    problems = dataset_problems(SingleDatasetConfig(dataset_type=dataset_type), "dataset.val_dataset", registry)
    assert problems == [
        f"dataset.val_dataset.metadata is not set; dataset type {dataset_type!r} needs it "
        f"({registry.entry(dataset_type).help.rstrip('.')})"
    ]


def test_mock_needs_nothing(registry):
    assert dataset_problems(SingleDatasetConfig(dataset_type="mock"), "dataset.train_dataset", registry) == []


def test_a_missing_metadata_file_is_named_by_its_config_path(registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = SingleDatasetConfig(dataset_type="vad_r1", metadata="data/val.json")
    assert dataset_problems(cfg, "dataset.val_dataset", registry) == [
        f"dataset.val_dataset.metadata: data/val.json: no such file (relative paths start from {tmp_path})"
    ]
    (tmp_path / "data" / "val.json").mkdir(parents=True)
    (problem,) = dataset_problems(cfg, "dataset.val_dataset", registry)
    assert problem.startswith("dataset.val_dataset.metadata: data/val.json: is a folder, not a file")


def test_an_existing_metadata_file_and_a_url_pass(registry, tmp_path):
    metadata = tmp_path / "m.json"
    metadata.write_text("[]")
    for value in (str(metadata), "s3://bucket/m.json"):
        assert dataset_problems(SingleDatasetConfig(dataset_type="vad_r1", metadata=value), "d", registry) == []


def test_a_data_root_that_is_a_file_is_refused(registry, tmp_path):
    metadata = tmp_path / "m.json"
    metadata.write_text("[]")
    cfg = SingleDatasetConfig(dataset_type="vad_r1", metadata=str(metadata), data_root=str(metadata))
    assert dataset_problems(cfg, "d", registry) == [
        f"d.data_root: {metadata} is a file; data_root is the folder the videos are in"
    ]


def test_a_plugin_type_declares_what_it_requires():
    registry = DatasetRegistry()
    registry.add("folder", lambda cfg, training: [], help="A folder.", requires=("data_root",))
    assert registry.entry("folder").requires == ("data_root",)
    assert dataset_problems(SingleDatasetConfig(dataset_type="folder"), "x", registry) == [
        "x.data_root is not set; dataset type 'folder' needs it (A folder)"
    ]
