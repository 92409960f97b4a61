"""A control modality from a third-party plugin trains through DataLoader workers with no edit elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos_core.hookspecs import hookimpl
from cosmos_core.plugins import load_plugins
from cosmos_datasets.skips import SkipLog
from cosmos_transfer.data.dataset import TransferDataset, modality_for_hint_key
from cosmos_transfer.data.loader import build_transfer_dataloader
from cosmos_transfer.modalities.base import OnTheFlyModality


class InvertModality(OnTheFlyModality):
    """The negative of the frames, brightened by a random offset per clip."""

    name = "invert"
    help = "test: inverted frames"

    def compute_frames(self, frames, rng):
        offset = int(rng.integers(0, 20))
        return np.clip(255 - frames.astype(np.int16) + offset, 0, 255).astype(np.uint8)


class InvertPlugin:
    @hookimpl
    def cosmos_register_control_modalities(self, registry):
        registry.add("invert", InvertModality(), help=InvertModality.help)


@pytest.fixture(scope="module")
def host():
    return load_plugins(extra=[InvertPlugin()])


def test_plugin_modality_is_listed_beside_the_built_in_ones(host):
    names = host.registries["control_modalities"].names()
    assert names == sorted(["depth", "edge", "hdmap", "invert", "keypoint", "lidar", "seg", "upscale", "vis"])


def test_plugin_modality_trains_through_workers(host, sample_root):
    modality = modality_for_hint_key("control_input_invert", host.registries["control_modalities"])
    dataset = TransferDataset(sample_root, modality, num_frames=5, resolution="256", seed=3)
    torch.manual_seed(0)
    model = torch.nn.Conv3d(3, 3, kernel_size=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    skips = SkipLog()
    losses = []
    for epoch in range(3):  # the same two clips, each epoch a new draw of windows and offsets
        loader = build_transfer_dataloader(dataset, workers=2, batch_size=1, epoch=epoch, seed=3)
        for batch in loader:
            skips.add(batch["skipped"])
            control = batch["control_input_invert"].float() / 255
            target = batch["video"].float() / 255
            assert control.shape == target.shape == (1, 3, 5, 192, 320)
            loss = torch.nn.functional.mse_loss(model(control), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    assert skips.total == 0 and len(losses) == 6
    assert losses[-1] < losses[0] / 2  # learns to invert the inversion


def test_worker_draws_match_the_main_process(host, sample_root):
    modality = host.registries["control_modalities"].get("invert")
    dataset = TransferDataset(sample_root, modality, num_frames=5, resolution="256", seed=3)
    expected = {dataset[i]["path"]: dataset[i]["control_input_invert"] for i in range(len(dataset))}
    loader = build_transfer_dataloader(dataset, workers=2, training=False)
    for batch in loader:
        assert torch.equal(batch["control_input_invert"][0], expected[batch["path"][0]])
