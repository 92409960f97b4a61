"""Generating a video from a control input and a caption with a trained Cosmos-Transfer1 model.

The inputs go through the training dataset's own preprocessing (a one-clip dataset in the run folder:
the control computed or read exactly as in training, the T5 embedding padded to 512 rows, the frames
resized and padded to the resolution bucket), then the EDM sampler of the reference (RES 2ab, Karras
schedule, classifier-free guidance against zeroed T5 embeddings) denoises from pure noise with the
control branch at ``control_weight``; the tokenizer decodes the latent.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cosmos_core.errors import UserInputError
from cosmos_core.training.checkpoint import ShardedCheckpointer, read_file

from cosmos_transfer.data.collate import collate_transfer
from cosmos_transfer.data.dataset import TransferDataset
from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.data.t5_pickle import read_t5_embedding, write_t5_pickle
from cosmos_transfer.diffusion.denoise import inference_x0_fn
from cosmos_transfer.diffusion.edm import SIGMA_MAX
from cosmos_transfer.diffusion.sampler import guided_x0_fn, sample
from cosmos_transfer.diffusion.video_conditioning import condition_frames
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.modalities.base import ControlModality
from cosmos_transfer.model.loading import load_control_checkpoint, read_checkpoint, select_state
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.runtime import job_dir
from cosmos_transfer.tokenizer.interface import unit_range_to_uint8
from cosmos_transfer.training.layout import LAYOUT
from cosmos_transfer.training.module import TransferTrainingModule
from cosmos_transfer.training.weights import load_base

logger = logging.getLogger("cosmos.transfer")

INPUT_CLIP = "input"


class GenerationInputError(UserInputError, ValueError):
    """The generate action's inputs are missing or do not fit the experiment."""


# -------------------------------------------------------------------------------------------------
# Weights
# -------------------------------------------------------------------------------------------------


def _copy_ema(networks: TransferNetworks, ema: dict[str, torch.Tensor]) -> int:
    parameters = dict(networks.named_parameters())
    with torch.no_grad():
        for name, value in ema.items():
            parameters[name.replace("-", ".")].copy_(value)
    return len(ema)


def load_trained(config: TransferExperiment, networks: TransferNetworks, dist: Any) -> str:
    """Fill ``networks`` from ``generate.checkpoint`` (a training checkpoint of this job, the job's latest when
    empty) or from a control file plus ``model.base_load_from``. Returns what was loaded, for the log."""
    settings = config.generate
    path = Path(settings.checkpoint) if settings.checkpoint else _latest(config)
    iteration = LAYOUT.iteration_of(path.name)
    if iteration is None:
        source, state = select_state(read_checkpoint(path), prefer_ema=False)
        if any(key.startswith("base_model.") for key in state):  # merge_tp --include-base-model: everything
            networks.load_state_dict(state, strict=True)
            return f"{path} ({source} weights of base and control)"
        load_base(config, networks, dist)  # a released or exported control file
        report = load_control_checkpoint(path, networks.net, use_ema=settings.use_ema)
        return f"{path} ({report.source} weights) on the base of model.base_load_from"
    trainer = read_file(path)
    if trainer.get("tp_size", 1) != 1:
        raise GenerationInputError(
            f"generate.checkpoint: {path} was written with tensor parallelism {trainer['tp_size']}; merge it first "
            f"(cosmos-run cosmos-transfer1 merge_tp {path})"
        )
    payload = read_file(path.parent / LAYOUT.shard_name(iteration, "model", 0))
    model, callbacks = LAYOUT.split_model_payload(payload)
    networks.load_state_dict(model, strict=True)
    ema = callbacks.get("ema")
    if settings.use_ema and ema:
        return f"{path} with its EMA weights ({_copy_ema(networks, ema)} tensors)"
    return f"{path} (regular weights)"


def _latest(config: TransferExperiment) -> Path:
    folder = job_dir(config) / "checkpoints"
    latest = ShardedCheckpointer(folder, LAYOUT).latest()
    if latest is None:
        raise GenerationInputError(
            f"generate.checkpoint is empty and {folder} holds no checkpoint: train the experiment first, or "
            "name a checkpoint (generate.checkpoint=...)"
        )
    return latest


# -------------------------------------------------------------------------------------------------
# Inputs
# -------------------------------------------------------------------------------------------------


def prepare_input_clip(
    config: TransferExperiment, modality: ControlModality, folder: Path, text_embedding: np.ndarray
) -> dict[str, Any]:
    """The generation inputs as a training batch of one (via a one-clip dataset in ``folder``)."""
    settings = config.generate
    if not settings.input_video:
        raise GenerationInputError("generate.input_video is required: the video whose control input guides the result")
    video = Path(settings.input_video)
    if not video.is_file():
        raise GenerationInputError(f"generate.input_video: {video} does not exist")
    layout = DatasetLayout(folder)
    layout.videos_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, layout.video(INPUT_CLIP))
    write_t5_pickle(layout.t5(INPUT_CLIP), text_embedding)
    if modality.folder is not None:
        if not settings.control_path:
            raise GenerationInputError(
                f"generate.control_path is required for the {modality.name} control (a {modality.suffix} file "
                f"as control_inputs writes it)"
            )
        target = layout.control(modality.folder, INPUT_CLIP, modality.suffix or "")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(settings.control_path, target)
    data = config.dataloader_train.dataset
    dataset = TransferDataset(
        folder,
        modality,
        num_frames=data.num_frames,
        resolution=data.resolution,
        skip_missing_files=False,
        seed=settings.seed,
    )
    return collate_transfer([dataset[0]])


def text_embedding(config: TransferExperiment, device: torch.device) -> np.ndarray:
    """``[L, 1024]`` float16 of ``generate.t5_pickle``, or of ``generate.prompt`` through ``generate.t5_model``."""
    settings = config.generate
    if settings.t5_pickle:
        return read_t5_embedding(settings.t5_pickle)
    if not settings.prompt:
        raise GenerationInputError(
            "give the caption: generate.prompt=... (with generate.t5_model) or generate.t5_pickle"
        )
    from cosmos_transfer.preprocess.t5_encoder import T5Encoder

    encoder = T5Encoder(settings.t5_model, device=device)
    return encoder.encode([settings.prompt])[0]


# -------------------------------------------------------------------------------------------------
# Sampling
# -------------------------------------------------------------------------------------------------


@torch.no_grad()
def generate_latent(
    module: TransferTrainingModule,
    batch: dict[str, Any],
    *,
    control_weight: float,
    guidance: float,
    num_steps: int,
    seed: int,
) -> torch.Tensor:
    """The sampled clean latent (``* sigma_data`` units) for a batch of one prepared clip."""
    x0_shape, hint = module.encode(batch)
    text = batch["t5_text_embeddings"].float()
    no_condition = condition_frames(torch.zeros_like(x0_shape), 0)
    augment_noise = torch.zeros_like(x0_shape)

    def x0_fn(text_embedding: torch.Tensor):
        network = module.network_fn(batch, text_embedding, hint, control_weight)
        return inference_x0_fn(network, no_condition, augment_noise=augment_noise, sigma_data=module.sigma_data)

    denoiser = x0_fn(text) if guidance == 0 else guided_x0_fn(x0_fn(text), x0_fn(torch.zeros_like(text)), guidance)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    noise = torch.randn(x0_shape.shape, generator=generator).to(x0_shape) * SIGMA_MAX
    return sample(denoiser, noise, num_steps=num_steps)


def decode_frames(module: TransferTrainingModule, latent: torch.Tensor, batch: dict[str, Any]) -> np.ndarray:
    """uint8 ``[T, h, w, 3]`` of a latent, cropped to the clip's content (without the bucket's padding)."""
    video = module.tokenizer.decode(latent / module.sigma_data).float()
    frames = unit_range_to_uint8(video)[0].permute(1, 2, 3, 0).cpu().numpy()
    height, width = (int(v) for v in batch["image_size"][0, 2:].tolist())
    return frames[:, :height, :width]


def control_frames(batch: dict[str, Any], hint_key: str) -> np.ndarray:
    height, width = (int(v) for v in batch["image_size"][0, 2:].tolist())
    return batch[hint_key][0].permute(1, 2, 3, 0).cpu().numpy()[:, :height, :width]
