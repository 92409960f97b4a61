"""The EDM denoiser wiring and the Kendall-weighted loss, with analytic networks and the tiny Transfer1 nets."""

from __future__ import annotations

import functools

import pytest
import torch
from cosmos_transfer.diffusion.denoise import denoise, denoising_loss, kendall_loss
from cosmos_transfer.diffusion.edm import edm_scalings
from cosmos_transfer.diffusion.logvar import LogVarHead
from cosmos_transfer.diffusion.video_conditioning import condition_frames
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.networks import TransferNetworks


def _b(values: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, 1, 1, 1, 1)


@pytest.fixture
def x0() -> torch.Tensor:
    return torch.randn(2, 4, 3, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_zero_network_gives_c_skip_times_input(x0):
    sigma = torch.tensor([0.3, 5.0], dtype=torch.float64)
    out = denoise(lambda x, c_noise, mask: torch.zeros_like(x), x0, sigma)
    torch.testing.assert_close(out.x0, _b(edm_scalings(sigma).c_skip) * x0)
    torch.testing.assert_close(out.c_noise, sigma.log() / 4)


def test_condition_region_goes_in_augmented_and_comes_out_clean(x0):
    frames = condition_frames(x0, 1)
    sigma, augment_sigma = torch.tensor([2.0, 9.0], dtype=torch.float64), torch.tensor([0.01, 0.2])
    noise, x_t = torch.randn_like(x0), torch.randn_like(x0) * 4
    seen = {}

    def network(x, c_noise, mask):
        seen.update(x=x, mask=mask)
        return torch.ones_like(x)

    out = denoise(network, x_t, sigma, frames, augment_sigma, noise)
    c_in_aug = edm_scalings(augment_sigma.double()).c_in
    expected_condition = (x0[:, :, :1] + _b(augment_sigma.double()) * noise[:, :, :1]) * _b(c_in_aug)
    torch.testing.assert_close(seen["x"][:, :, :1], expected_condition)
    torch.testing.assert_close(seen["x"][:, :, 1:], _b(edm_scalings(sigma).c_in) * x_t[:, :, 1:])
    assert seen["mask"] is frames.input_mask
    torch.testing.assert_close(out.x0[:, :, :1], x0[:, :, :1])  # no loss on condition frames
    assert (out.net_x0[:, :, :1] - x0[:, :, :1]).abs().max() > 0
    with pytest.raises(ValueError, match="augment_sigma"):
        denoise(network, x_t, sigma, frames)


def test_kendall_loss_by_hand():
    x0 = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    pred = torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    sigma = torch.tensor([0.5, 2.0])
    u = torch.tensor([[0.2], [-0.4]])
    weights = torch.tensor([(0.25 + 0.25) / 0.0625, (4 + 0.25) / 1.0])
    squared = torch.tensor([[1.0, 0.0], [1.0, 4.0]])
    edm = squared * weights[:, None]
    expected = (edm * torch.exp(-u) + u).mean()
    terms = kendall_loss(x0, pred, sigma, u)
    torch.testing.assert_close(terms.loss, expected)
    torch.testing.assert_close(terms.edm_loss, edm.mean())
    torch.testing.assert_close(terms.mse, squared.mean())
    torch.testing.assert_close(kendall_loss(x0, pred, sigma, None).loss, edm.mean())


def _oracle(x0: torch.Tensor):
    """A network whose denoised estimate is exactly ``x0``: F = (x0 - c_skip x) / c_out."""

    def network(net_in, c_noise, mask):
        s = edm_scalings(torch.exp(4 * c_noise))
        x = net_in / _b(s.c_in)
        return (x0 - _b(s.c_skip) * x) / _b(s.c_out)

    return network


def test_a_perfect_denoiser_has_zero_edm_loss_and_pays_only_u(x0):
    generator = torch.Generator().manual_seed(3)
    assert denoising_loss(_oracle(x0), x0, logvar_head=None, generator=generator).loss.item() == pytest.approx(
        0, abs=1e-12
    )
    torch.manual_seed(0)
    head = LogVarHead().double()
    terms = denoising_loss(_oracle(x0), x0, logvar_head=head, generator=torch.Generator().manual_seed(3))
    u = head(edm_scalings(terms.sigma.double()).c_noise)
    assert terms.loss.item() == pytest.approx(u.mean().item(), abs=1e-10)


def test_denoising_loss_is_reproducible_and_draws_sigma_around_sqrt_t(x0):
    network = _oracle(torch.zeros_like(x0))
    first = denoising_loss(network, x0, logvar_head=None, generator=torch.Generator().manual_seed(5))
    second = denoising_loss(network, x0, logvar_head=None, generator=torch.Generator().manual_seed(5))
    assert first.loss.item() == second.loss.item() and torch.equal(first.sigma, second.sigma)
    # Predicting zeros: loss = mean(lambda(sigma) x0^2) over the generated frames.
    frames = denoising_loss(network, x0, logvar_head=None, num_condition_frames=3, generator=torch.Generator())
    assert frames.loss.item() == pytest.approx(0.0, abs=1e-12)  # all 3 frames are condition frames


def test_loss_through_the_tiny_transfer_networks_trains_the_control_branch():
    torch.manual_seed(0)
    networks = TransferNetworks(BASE_TINY, CONTROL_TINY)
    networks.initialize_control_from_base()
    networks.freeze_base()
    batch = 2
    context = torch.randn(batch, 16, 1024)
    hint = torch.randn(batch, 16, 3, 8, 8)

    def network(x, c_noise, mask):
        return networks(x, c_noise, context, hint, fps=torch.full((batch,), 24.0), condition_video_input_mask=mask)

    x0 = torch.randn(batch, 16, 3, 8, 8) * 0.5
    terms = denoising_loss(network, x0, logvar_head=networks.logvar, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(terms.loss)
    terms.loss.backward()
    assert networks.net.zero_blocks.block0.weight.grad.abs().sum() > 0
    assert networks.logvar[1].weight.grad is None  # frozen with the base
    assert functools.reduce(lambda a, p: a and p.grad is None, networks.base_model.parameters(), True)
