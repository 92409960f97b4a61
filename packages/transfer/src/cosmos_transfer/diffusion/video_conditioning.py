"""Conditioning latent frames of the ``lvg`` (long-video-generation) experiments.

Reference: ``training/models/extend_model.py::ExtendDiffusionModel`` with the experiment's
``video_cond_bool`` settings (``condition_location="first_random_n"``, 0..2 frames,
``apply_corruption_to_condition_region="noise_with_sigma"`` with ln sigma_aug ~ N(-3, 2), multiplier 1,
``condition_on_augment_sigma=False``, ``cfg_unconditional_type="zero_condition_region_condition_mask"``,
``compute_loss_for_condition_region=False``).

The first ``n`` latent frames of the clean latent are shown to the network, lightly noised, in place of
``x_t``; a binary mask channel marks them; the prediction there is replaced by the clean latent, so those
frames carry no loss.
"""

from __future__ import annotations

import dataclasses

import torch

from cosmos_transfer.diffusion.edm import SIGMA_DATA, edm_scalings, per_sample, sample_log_normal_sigma

MIN_CONDITION_FRAMES = 0
MAX_CONDITION_FRAMES = 2  # first_random_n_num_condition_t_max
AUGMENT_P_MEAN = -3.0
AUGMENT_P_STD = 2.0
AUGMENT_MULTIPLIER = 1.0
INFERENCE_AUGMENT_SIGMA = 0.001  # inference_utils.py::DEFAULT_AUGMENT_SIGMA


@dataclasses.dataclass(frozen=True)
class ConditionFrames:
    gt_latent: torch.Tensor  # [B, C, T, H, W], the clean latent (x0)
    indicator: torch.Tensor  # [1, 1, T, 1, 1], 1 on conditioning frames
    input_mask: torch.Tensor  # [B, 1, T, H, W], the network's condition-mask channel
    video_cond_bool: bool  # False: the unconditional (CFG) variant with the condition region dropped


def condition_frames(gt_latent: torch.Tensor, num_frames: int, video_cond_bool: bool = True) -> ConditionFrames:
    """The first ``num_frames`` latent frames as condition (``add_condition_video_indicator_and_video_input_mask``)."""
    b, _, t, h, w = gt_latent.shape
    if not 0 <= num_frames <= t:
        raise ValueError(f"num_frames must be in 0..{t}, got {num_frames}")
    indicator = torch.zeros(1, 1, t, 1, 1, dtype=gt_latent.dtype, device=gt_latent.device)
    indicator[:, :, :num_frames] = 1.0
    input_mask = indicator.expand(b, 1, t, h, w).clone() if video_cond_bool else gt_latent.new_zeros(b, 1, t, h, w)
    return ConditionFrames(gt_latent, indicator, input_mask, video_cond_bool)


def sample_num_condition_frames(
    min_frames: int = MIN_CONDITION_FRAMES,
    max_frames: int = MAX_CONDITION_FRAMES,
    generator: torch.Generator | None = None,
) -> int:
    """``first_random_n``: uniform in ``min_frames..max_frames``, one draw for the whole batch."""
    return int(torch.randint(min_frames, max_frames + 1, (1,), generator=generator).item())


def sample_augment_sigma(
    batch_size: int, *, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Training noise level of the condition region, ``exp(N(-3, 2^2))`` per sample."""
    return sample_log_normal_sigma(
        batch_size,
        p_mean=AUGMENT_P_MEAN,
        p_std=AUGMENT_P_STD,
        multiplier=AUGMENT_MULTIPLIER,
        generator=generator,
        device=device,
    )


def augmented_condition_latent(
    gt_latent: torch.Tensor,
    augment_sigma: torch.Tensor,
    noise: torch.Tensor,
    sigma: torch.Tensor,
    sigma_data: float = SIGMA_DATA,
) -> torch.Tensor:
    """``(gt + sigma_aug * noise) * c_in(sigma_aug) / c_in(sigma)``: after the network's ``c_in(sigma)`` the
    condition region reads as a latent preconditioned at its own noise level."""
    augmented = gt_latent + noise * per_sample(augment_sigma, gt_latent)
    c_in_augment = edm_scalings(augment_sigma, sigma_data).c_in
    c_in = edm_scalings(sigma, sigma_data).c_in
    return augmented * per_sample(c_in_augment / c_in, gt_latent)


def compose_network_input(frames: ConditionFrames, augmented: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
    """Condition region from ``augmented`` (zeros when ``video_cond_bool`` is False), the rest from ``x_t``."""
    if not frames.video_cond_bool:
        augmented = torch.zeros_like(augmented)
    return frames.indicator * augmented + (1 - frames.indicator) * x_t


def replace_condition_region(frames: ConditionFrames, x0_pred: torch.Tensor) -> torch.Tensor:
    """The prediction with the condition region set to the clean latent."""
    return frames.indicator * frames.gt_latent + (1 - frames.indicator) * x0_pred


def for_inference_step(frames: ConditionFrames, augment_sigma: float, sigma: torch.Tensor) -> ConditionFrames:
    """``noise_with_sigma_fixed``: once the sampling sigma is at or below the fixed augment sigma, the whole
    clip is denoised (the indicator is zeroed; the input-mask channel is left as it was, as the reference)."""
    if bool(sigma.flatten()[0] <= augment_sigma):  # in sigma's dtype, as the reference compares
        return dataclasses.replace(frames, indicator=torch.zeros_like(frames.indicator))
    return frames
