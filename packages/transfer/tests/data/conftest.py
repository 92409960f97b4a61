"""A synthetic Transfer1 dataset in the reference formats, built once per session."""

from __future__ import annotations

import shutil

import pytest
from cosmos_core.plugins import load_plugins
from cosmos_transfer.data.samples import write_sample_dataset

SPEC = {"frames": 14, "size": (36, 64)}


@pytest.fixture(scope="session")
def sample_spec():
    """Frames per clip and frame size of :func:`sample_root`."""
    return SPEC


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory):
    """Two clips of 14 frames of 36x64 at 24 fps with T5, depth, seg and keypoint files."""
    root = tmp_path_factory.mktemp("transfer") / "ds"
    return write_sample_dataset(root, clips=2, num_frames=SPEC["frames"], size=SPEC["size"]).root


@pytest.fixture
def dataset_copy(sample_root, tmp_path):
    """A private copy of the sample dataset that a test may damage."""
    return shutil.copytree(sample_root, tmp_path / "ds")


@pytest.fixture(scope="session")
def modalities():
    return load_plugins().registries["control_modalities"]
