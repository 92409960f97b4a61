"""EDM (Karras et al. 2022) preconditioning, training noise levels and loss weights of Cosmos-Transfer1.

Reference: ``diffusion/diffusion/modules/denoiser_scaling.py::EDMScaling``, ``training/modules/edm_sde.py``,
``training/models/model_image.py`` (``get_per_sigma_loss_weights``) and ``model.py`` (``adjust_video_noise``);
``config/base/model.py`` sets ``EDMSDE(p_mean=0.0, p_std=1.0, sigma_max=80, sigma_min=0.0002)``.
"""

from __future__ import annotations

import dataclasses
import math

import torch

SIGMA_DATA = 0.5
P_MEAN = 0.0
P_STD = 1.0
SIGMA_MAX = 80.0  # start noise of sampling from pure noise


@dataclasses.dataclass(frozen=True)
class EDMScalings:
    c_skip: torch.Tensor
    c_out: torch.Tensor
    c_in: torch.Tensor
    c_noise: torch.Tensor


def edm_scalings(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA) -> EDMScalings:
    """``x0_hat = c_skip x + c_out F(c_in x, c_noise)`` with ``c_noise = ln(sigma) / 4``."""
    variance = sigma**2 + sigma_data**2
    return EDMScalings(
        c_skip=sigma_data**2 / variance,
        c_out=sigma * sigma_data / variance**0.5,
        c_in=1 / variance**0.5,
        c_noise=0.25 * sigma.log(),
    )


def loss_weight(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA) -> torch.Tensor:
    """``lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma * sigma_data)^2`` (= 1 / c_out^2)."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def video_noise_multiplier(num_latent_frames: int) -> float:
    """``adjust_video_noise=True``: training sigmas are scaled by sqrt(latent frames) (4 for 16 frames)."""
    return math.sqrt(num_latent_frames)


def sample_log_normal_sigma(
    batch_size: int,
    *,
    p_mean: float,
    p_std: float,
    multiplier: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``multiplier * exp(N(p_mean, p_std^2))`` per sample, fp32 ``[B]``.

    The reference draws the same distribution by inverse CDF of numpy uniforms (``EDMSDE.sample_t``).
    """
    normal = torch.randn(batch_size, generator=generator, device=device, dtype=torch.float32)
    return multiplier * torch.exp(p_mean + p_std * normal)


def sample_training_sigma(
    batch_size: int,
    num_latent_frames: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The training noise level: ``ln(sigma) ~ N(ln sqrt(T), 1)``, unclipped."""
    return sample_log_normal_sigma(
        batch_size,
        p_mean=P_MEAN,
        p_std=P_STD,
        multiplier=video_noise_multiplier(num_latent_frames),
        generator=generator,
        device=device,
    )


def per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``[B]`` viewed to broadcast against ``like [B, ...]`` (the reference's ``batch_mul``)."""
    return values.reshape(values.shape[0], *([1] * (like.ndim - 1)))
