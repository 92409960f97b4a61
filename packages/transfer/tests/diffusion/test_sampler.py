"""The RES "2ab" sampler on analytic denoisers, the Karras schedule and classifier-free guidance."""

from __future__ import annotations

import math

import pytest
import torch
from cosmos_transfer.diffusion.sampler import (
    classifier_free_guidance,
    euler_x0_step,
    guided_x0_fn,
    karras_sigmas,
    sample,
)

MU, S = 0.7, 0.5  # data ~ N(MU, S^2) per element


def gaussian_x0(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The ideal denoiser E[x0 | x_sigma] of the Gaussian data."""
    sigma = sigma.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)
    return MU + S**2 / (S**2 + sigma**2) * (x - MU)


def exact_sample(x_t: torch.Tensor, sigma_min: float = 0.002, sigma_max: float = 80.0) -> torch.Tensor:
    """The probability-flow ODE keeps (x - MU) / sqrt(S^2 + sigma^2) constant; then the final x0 evaluation."""
    x = MU + (x_t - MU) * math.sqrt(S**2 + sigma_min**2) / math.sqrt(S**2 + sigma_max**2)
    return MU + S**2 / (S**2 + sigma_min**2) * (x - MU)


@pytest.fixture
def x_t() -> torch.Tensor:
    return torch.randn(4, 100, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 80


def _euler_only(x_t: torch.Tensor, num_steps: int) -> torch.Tensor:
    sigmas = karras_sigmas(num_steps).tolist()
    x = x_t
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
        x = euler_x0_step(x, sigma, sigma_next, gaussian_x0(x, torch.full((4,), sigma)))
    return gaussian_x0(x, torch.full((4,), sigmas[-1]))


def test_karras_schedule():
    sigmas = karras_sigmas(35)
    assert sigmas.dtype == torch.float64 and len(sigmas) == 36
    assert sigmas[0].item() == pytest.approx(80.0) and sigmas[-1].item() == pytest.approx(0.002)
    assert bool((sigmas[1:] < sigmas[:-1]).all())
    rho = 7
    middle = (80 ** (1 / rho) + 0.5 * (0.002 ** (1 / rho) - 80 ** (1 / rho))) ** rho
    assert karras_sigmas(2)[1].item() == pytest.approx(middle)


def test_2ab_converges_to_the_ode_solution_at_second_order(x_t):
    error = {n: (sample(gaussian_x0, x_t, num_steps=n) - exact_sample(x_t)).abs().max().item() for n in (35, 70)}
    assert error[35] < 0.04
    assert error[35] / error[70] > 3.5  # halving the step quarters the error: second order
    euler_error = (_euler_only(x_t, 35) - exact_sample(x_t)).abs().max().item()
    assert euler_error > 3 * error[35]  # first-order Euler at the same step count


def test_sampler_counts_steps_and_ends_with_a_clean_evaluation(x_t):
    seen = []

    def recording(x, sigma):
        seen.append(sigma[0].item())
        return gaussian_x0(x, sigma)

    out = sample(recording, x_t.float(), num_steps=35)
    assert out.dtype == torch.float32
    assert len(seen) == 36  # 35 steps + the final clean step (72 evaluations with guidance)
    assert seen[0] == pytest.approx(80.0) and seen[-2] > seen[-1] == pytest.approx(0.002)


def test_a_constant_denoiser_is_reached_exactly(x_t):
    target = torch.full_like(x_t, -0.3)
    torch.testing.assert_close(sample(lambda x, sigma: target, x_t, num_steps=7), target)


def test_classifier_free_guidance():
    cond, uncond = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 3.0])
    torch.testing.assert_close(classifier_free_guidance(cond, uncond, 5.0), 6 * cond - 5 * uncond)
    guided = guided_x0_fn(lambda x, s: x + 1, lambda x, s: x - 1, guidance=2.0)
    torch.testing.assert_close(guided(torch.zeros(2), torch.ones(2)), torch.full((2,), 5.0))
