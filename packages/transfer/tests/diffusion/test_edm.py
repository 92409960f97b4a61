"""EDM scalings, loss weight, training sigma distribution and the logvar head against hand computations."""

from __future__ import annotations

import math

import pytest
import torch
from cosmos_transfer.diffusion.edm import edm_scalings, loss_weight, sample_training_sigma, video_noise_multiplier
from cosmos_transfer.diffusion.logvar import LogVarHead


def test_scalings_at_hand_computed_sigmas():
    s = edm_scalings(torch.tensor([0.5, 2.0, 80.0], dtype=torch.float64))
    # sigma = sigma_data = 0.5: c_skip 1/2, c_out 0.25/sqrt(0.5), c_in 1/sqrt(0.5), c_noise ln(0.5)/4.
    assert s.c_skip[0].item() == pytest.approx(0.5)
    assert s.c_out[0].item() == pytest.approx(0.25 / math.sqrt(0.5))
    assert s.c_in[0].item() == pytest.approx(math.sqrt(2))
    assert s.c_noise[0].item() == pytest.approx(math.log(0.5) / 4)
    # sigma = 2: variance 4.25.
    assert s.c_skip[1].item() == pytest.approx(0.25 / 4.25)
    assert s.c_out[1].item() == pytest.approx(1.0 / math.sqrt(4.25))
    assert s.c_in[1].item() == pytest.approx(1 / math.sqrt(4.25))
    assert s.c_noise[2].item() == pytest.approx(math.log(80) / 4)
    # EDM identity: c_skip^2 * (sigma^2 + sigma_data^2) + c_out^2 = sigma_data^2 (unit-variance target).
    torch.testing.assert_close(
        s.c_skip**2 * (torch.tensor([0.5, 2.0, 80.0]).double() ** 2 + 0.25) + s.c_out**2,
        torch.full((3,), 0.25, dtype=torch.float64),
    )


def test_loss_weight_is_the_inverse_squared_c_out():
    sigma = torch.tensor([0.01, 0.5, 3.0, 40.0], dtype=torch.float64)
    torch.testing.assert_close(loss_weight(sigma), 1 / edm_scalings(sigma).c_out ** 2)
    assert loss_weight(torch.tensor(2.0)).item() == pytest.approx(4.25 / 1.0)


def test_training_sigma_is_log_normal_around_sqrt_latent_frames():
    assert video_noise_multiplier(16) == 4.0
    sigma = sample_training_sigma(40_000, 16, generator=torch.Generator().manual_seed(0))
    log_sigma = sigma.log()
    assert log_sigma.mean().item() == pytest.approx(math.log(4), abs=0.02)
    assert log_sigma.std().item() == pytest.approx(1.0, abs=0.02)
    again = sample_training_sigma(40_000, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sigma, again)


def test_logvar_head_is_a_linear_map_of_scaled_cosine_features():
    torch.manual_seed(0)
    head = LogVarHead()
    assert [k for k in head.state_dict()] == ["0.freqs", "0.phases", "1.weight"]
    assert [p.shape for p in head.parameters()] == [torch.Size([1, 128])]
    c_noise = torch.tensor([-0.5, 0.3])
    features = math.sqrt(2) * torch.cos(c_noise[:, None] * head[0].freqs + head[0].phases)
    torch.testing.assert_close(head(c_noise), features @ head[1].weight.T)
