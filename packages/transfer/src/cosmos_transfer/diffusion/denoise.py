"""The EDM denoiser around a network, and the Kendall-weighted denoising loss of Transfer1 training.

Reference: ``model_image.py`` (``denoise``, ``compute_loss_with_epsilon_and_sigma``, ``training_step``) and
``extend_model.py::ExtendDiffusionModel.denoise``. The experiment reduces with ``loss_reduce="mean"`` and
``loss_scale=1``; ``loss_add_logvar=True`` makes the loss ``edm * exp(-u) + u`` with ``u = logvar(c_noise)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from cosmos_transfer.diffusion.edm import SIGMA_DATA, edm_scalings, loss_weight, per_sample, sample_training_sigma
from cosmos_transfer.diffusion.video_conditioning import (
    INFERENCE_AUGMENT_SIGMA,
    ConditionFrames,
    augmented_condition_latent,
    compose_network_input,
    condition_frames,
    for_inference_step,
    replace_condition_region,
    sample_augment_sigma,
    sample_num_condition_frames,
)

NetworkFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
"""``(c_in * x, c_noise [B], condition_video_input_mask or None) -> F``; the caller binds text, fps,
padding mask, hint and control weight (e.g. ``functools.partial`` over ``TransferNetworks``)."""


@dataclasses.dataclass(frozen=True)
class Denoised:
    x0: torch.Tensor  # the clean-latent estimate, condition region replaced by the clean latent
    net_x0: torch.Tensor  # c_skip x + c_out F before the replacement
    c_noise: torch.Tensor  # [B], for the logvar head


def denoise(
    network: NetworkFn,
    x_t: torch.Tensor,
    sigma: torch.Tensor,
    frames: ConditionFrames | None = None,
    augment_sigma: torch.Tensor | None = None,
    augment_noise: torch.Tensor | None = None,
    sigma_data: float = SIGMA_DATA,
) -> Denoised:
    """``x0_hat = c_skip x + c_out F(c_in x, c_noise)``; with ``frames`` the condition region of ``x`` is the
    augmented clean latent (needs ``augment_sigma [B]`` and ``augment_noise``) and of ``x0_hat`` the clean one.

    Scalings are computed in ``x_t``'s dtype, as the reference casts sigma to the model precision.
    """
    sigma = sigma.to(x_t.dtype)
    scalings = edm_scalings(sigma, sigma_data)
    mask = None
    if frames is not None:
        if augment_sigma is None or augment_noise is None:
            raise ValueError("condition frames need augment_sigma and augment_noise")
        augmented = augmented_condition_latent(
            frames.gt_latent, augment_sigma.to(x_t.dtype), augment_noise, sigma, sigma_data
        )
        x_t = compose_network_input(frames, augmented, x_t)
        mask = frames.input_mask
    prediction = network(per_sample(scalings.c_in, x_t) * x_t, scalings.c_noise, mask)
    net_x0 = per_sample(scalings.c_skip, x_t) * x_t + per_sample(scalings.c_out, prediction) * prediction
    x0 = net_x0 if frames is None else replace_condition_region(frames, net_x0)
    return Denoised(x0=x0, net_x0=net_x0, c_noise=scalings.c_noise)


@dataclasses.dataclass(frozen=True)
class LossTerms:
    loss: torch.Tensor  # the training objective (mean of the Kendall-weighted loss)
    edm_loss: torch.Tensor  # mean of lambda(sigma) * (x0 - x0_hat)^2
    mse: torch.Tensor  # mean of (x0 - x0_hat)^2
    sigma: torch.Tensor  # [B]


def kendall_loss(
    x0: torch.Tensor,
    x0_pred: torch.Tensor,
    sigma: torch.Tensor,
    logvar: torch.Tensor | None,
    sigma_data: float = SIGMA_DATA,
) -> LossTerms:
    """``mean(lambda(sigma) (x0 - x0_hat)^2 exp(-u) + u)``; ``logvar=None`` drops the uncertainty term."""
    squared = (x0 - x0_pred) ** 2
    edm = squared * per_sample(loss_weight(sigma.to(squared.dtype), sigma_data), squared)
    weighted = edm
    if logvar is not None:
        u = logvar.reshape(-1).to(edm.dtype)
        weighted = edm * per_sample(torch.exp(-u), edm) + per_sample(u, edm)
    return LossTerms(loss=weighted.mean(), edm_loss=edm.mean(), mse=squared.mean(), sigma=sigma)


def denoising_loss(
    network: NetworkFn,
    x0: torch.Tensor,
    *,
    logvar_head: Callable[[torch.Tensor], torch.Tensor] | None,
    num_condition_frames: int | None = None,
    generator: torch.Generator | None = None,
    sigma_data: float = SIGMA_DATA,
) -> LossTerms:
    """One training loss of the lvg experiments on a clean latent ``x0 [B, C, T, H, W]`` (already ``* sigma_data``).

    Draws the number of condition frames (``first_random_n`` 0..2 unless given), ``sigma`` (ln N(ln sqrt(T), 1)),
    the noise, and the condition region's augment sigma and noise; ``generator`` makes it reproducible.
    """
    batch, device = x0.shape[0], x0.device
    if num_condition_frames is None:
        num_condition_frames = sample_num_condition_frames(generator=generator)
    frames = condition_frames(x0, num_condition_frames)
    sigma = sample_training_sigma(batch, x0.shape[2], generator=generator, device=device)
    epsilon = torch.randn(x0.shape, generator=generator, device=device, dtype=torch.float32).to(x0.dtype)
    augment_sigma = sample_augment_sigma(batch, generator=generator, device=device)
    augment_noise = torch.randn(x0.shape, generator=generator, device=device, dtype=torch.float32).to(x0.dtype)
    x_t = x0 + per_sample(sigma.to(x0.dtype), x0) * epsilon
    denoised = denoise(network, x_t, sigma, frames, augment_sigma, augment_noise, sigma_data)
    logvar = None if logvar_head is None else logvar_head(denoised.c_noise)
    return kendall_loss(x0, denoised.x0, sigma, logvar, sigma_data)


def inference_x0_fn(
    network: NetworkFn,
    frames: ConditionFrames | None = None,
    *,
    augment_noise: torch.Tensor | None = None,
    augment_sigma: float = INFERENCE_AUGMENT_SIGMA,
    sigma_data: float = SIGMA_DATA,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """An ``x0_fn(x, sigma)`` for the sampler (``noise_with_sigma_fixed``): condition frames noised at the fixed
    ``augment_sigma`` with the same ``augment_noise`` every step, dropped once sigma reaches it; returns x0 with
    the condition region replaced (the reference's ``x0_pred_replaced``). Wrap two of these (text / no text,
    each binding its control weight into ``network``) with ``sampler.guided_x0_fn`` for guidance."""
    if frames is not None and augment_noise is None:
        raise ValueError("condition frames need the fixed augment_noise")

    def x0_fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if frames is None:
            return denoise(network, x, sigma, sigma_data=sigma_data).x0
        step_frames = for_inference_step(frames, augment_sigma, sigma)
        augment = torch.full_like(sigma, augment_sigma)
        return denoise(network, x, sigma, step_frames, augment, augment_noise, sigma_data).x0

    return x0_fn
