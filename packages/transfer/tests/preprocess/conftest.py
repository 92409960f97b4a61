"""Random-weight models and small clips that the preparation tests build themselves (nothing downloads)."""

from __future__ import annotations

import pytest
from cosmos_transfer.data.samples import write_sample_dataset
from cosmos_transfer.preprocess import random_models


@pytest.fixture(autouse=True)
def _on_one_thread(one_torch_thread):
    """Every test here runs its tiny models on one thread (the root conftest's fixture)."""


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_t5(model_dir):
    return random_models.save_random_t5(model_dir / "t5")


@pytest.fixture(scope="session")
def tiny_depth(model_dir):
    return random_models.save_random_depth_anything(model_dir / "depth")


@pytest.fixture(scope="session")
def tiny_grounding_dino(model_dir):
    return random_models.save_random_grounding_dino(model_dir / "gdino")


@pytest.fixture(scope="session")
def tiny_sam2(model_dir):
    return random_models.save_random_sam2_video(model_dir / "sam2")


@pytest.fixture(scope="session")
def tiny_vitpose(model_dir):
    return random_models.save_random_vitpose(model_dir / "vitpose")


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Two 8-frame 36x64 clips with captions and nothing else."""
    return write_sample_dataset(
        tmp_path_factory.mktemp("prep") / "ds", clips=2, num_frames=8, size=(36, 64), modalities=()
    )
