"""Proof that tiny Cosmos-Transfer1 training learns to use its control input.

Generated clips show one coloured shape moving from a random place in a random direction, so where it
is can only be known from the clip's edges (the ``edge`` control). After a short CPU training run the
model's denoising loss on held-out clips is clearly lower with each clip's own control than with
another clip's, and lower than the untrained model's (measured here: untrained 3.48, trained 0.48,
with another clip's control 0.68 after 50 iterations of batch 4, 1m45s on 2 AVX2 CPU cores; 100
iterations gave 0.36 and 0.69 in twice the time).
"""

from __future__ import annotations

import pytest
import torch
from cosmos_core.cli import main
from cosmos_core.config.loader import structure
from cosmos_core.plugins import load_plugins
from cosmos_transfer.data.collate import collate_transfer
from cosmos_transfer.data.dataset import TransferDataset
from cosmos_transfer.data.shapes import write_shapes_dataset
from cosmos_transfer.diffusion.denoise import denoise, kendall_loss
from cosmos_transfer.diffusion.video_conditioning import condition_frames
from cosmos_transfer.experiments.catalog import EXPERIMENTS
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
from cosmos_transfer.tokenizer.interface import uint8_to_unit_range
from cosmos_transfer.tokenizer.training import train_autoencoder
from cosmos_transfer.training.build import build_networks, build_training_module
from cosmos_transfer.training.module import TransferTrainingModule
from cosmos_transfer.training.tokenizers import load_tokenizer, save_autoencoder

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("transfer_learns")]

NAME = "CTRL_tiny_lvg_17frames_control_input_edge_block3_pretrain"
SIGMAS = (1.0, 3.0, 8.0)  # noise levels where x_t alone no longer shows where the shape is


def module_of(config: TransferExperiment, networks, tokenizer) -> TransferTrainingModule:
    module = build_training_module(config, networks, inference=True).eval()
    module.attach_tokenizer(tokenizer)
    return module


@torch.no_grad()
def heldout_loss(module: TransferTrainingModule, batch: dict, *, shuffle_control: bool) -> float:
    """Mean EDM-weighted denoising error over fixed sigmas and noise, with each clip's control or another's."""
    x0, hint = module.encode(batch)
    if shuffle_control:
        hint = hint.roll(1, dims=0)
    text = batch["t5_text_embeddings"].float()
    frames = condition_frames(x0, 0)
    zeros = torch.zeros_like(x0)
    network = module.network_fn(batch, text, hint)
    generator = torch.Generator().manual_seed(7)
    total = 0.0
    for sigma_value in SIGMAS:
        sigma = torch.full((x0.shape[0],), sigma_value)
        x_t = x0 + sigma_value * torch.randn(x0.shape, generator=generator)
        no_augment = torch.zeros(x0.shape[0])
        denoised = denoise(network, x_t, sigma, frames, no_augment, zeros, module.sigma_data)
        total += float(kendall_loss(x0, denoised.x0, sigma, None, module.sigma_data).edm_loss)
    return total / len(SIGMAS)


def test_tiny_training_learns_to_use_the_control(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTPUT_ROOT", raising=False)
    write_shapes_dataset("datasets/tiny_shapes", clips=32, num_frames=17, random_t5=True, seed=0)
    write_shapes_dataset("heldout", clips=8, num_frames=17, random_t5=True, seed=1)

    torch.manual_seed(0)
    clips = TransferDataset("datasets/tiny_shapes", None, num_frames=17, resolution="64")
    videos = uint8_to_unit_range(torch.stack([clips[i]["video"] for i in range(len(clips))]))
    autoencoder = VideoAutoencoder()
    train_autoencoder(autoencoder, videos, 60, generator=torch.Generator().manual_seed(0))
    save_autoencoder(autoencoder, tmp_path / "checkpoints" / "tiny" / "video_autoencoder.pt")

    config = structure(TransferExperiment, EXPERIMENTS.get(NAME), NAME)
    tokenizer = load_tokenizer(config.model.tokenizer.path, torch.device("cpu"), bf16=False)
    modality = load_plugins().registries["control_modalities"].get("edge")
    heldout = collate_transfer(list(TransferDataset("heldout", modality, num_frames=17, resolution="64", seed=3)))

    torch.manual_seed(config.trainer.seed)
    untrained = build_networks(config, meta=False)
    untrained.initialize_control_from_base()
    before = heldout_loss(module_of(config, untrained, tokenizer), heldout, shuffle_control=False)

    overrides = ["trainer.max_iter=50", "checkpoint.save_iter=50", "dataloader_train.batch_size=4"]
    assert main(["cosmos-transfer1", "train", "--", f"experiment={NAME}", *overrides]) == 0
    folder = tmp_path / "checkpoints" / "cosmos_transfer1_tiny_pretrain" / "CTRL_tiny_lvg" / NAME / "checkpoints"
    trained = build_networks(config, meta=False)
    trained.load_state_dict(torch.load(folder / "iter_000000050_model_mp_0.pt", weights_only=True)["model"])
    module = module_of(config, trained, tokenizer)
    own = heldout_loss(module, heldout, shuffle_control=False)
    others = heldout_loss(module, heldout, shuffle_control=True)
    print(
        f"held-out denoising loss: untrained {before:.4f}, trained {own:.4f}, with another clip's control {others:.4f}"
    )
    assert own < 0.8 * others
    assert own < 0.7 * before
