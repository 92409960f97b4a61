"""Power EMA: exponent, decay schedule, per-rank widths, buffer names, update arithmetic."""

from __future__ import annotations

import pytest
import torch
from cosmos_transfer.model.ema import PowerEMA, power_ema_beta, power_ema_gamma, sigma_rel_for_rank
from torch import nn


def test_gamma_is_the_largest_real_root_of_the_edm2_cubic():
    gamma = power_ema_gamma(0.1)
    assert gamma == pytest.approx(6.937203937601809, abs=1e-12)
    assert gamma**3 + 7 * gamma**2 + (16 - 100) * gamma + (12 - 100) == pytest.approx(0.0, abs=1e-9)
    # A narrower EMA averages over longer: larger exponent.
    assert power_ema_gamma(0.05) > gamma > power_ema_gamma(0.2)


def test_beta_schedule():
    gamma = power_ema_gamma(0.1)
    assert power_ema_beta(0, gamma) == 0.0
    assert power_ema_beta(1, gamma) == 0.5 ** (gamma + 1)
    assert power_ema_beta(9, gamma) == 0.9 ** (gamma + 1)
    assert power_ema_beta(999, gamma) == (1 - 1 / 1000) ** (gamma + 1)


def test_sigma_rel_per_data_parallel_rank():
    assert [sigma_rel_for_rank(rank) for rank in range(5)] == [0.1, 0.05, 0.025, 0.1, 0.1]


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(2, 3)
        self.frozen = nn.Linear(3, 1)
        self.frozen.requires_grad_(False)
        self.register_buffer("seq", torch.arange(3.0))


def test_buffers_are_fp32_copies_of_trainable_parameters_only():
    toy = _Toy().to(torch.bfloat16)
    ema = PowerEMA(toy)
    assert list(ema.state_dict()) == ["body-weight", "body-bias"]
    assert all(value.dtype == torch.float32 for value in ema.state_dict().values())
    assert torch.equal(ema.state_dict()["body-weight"], toy.body.weight.float())


def test_update_arithmetic_and_copy_to():
    toy = _Toy()
    ema = PowerEMA(toy)
    gamma = ema.gamma
    for iteration, value in enumerate([1.0, 3.0, 7.0]):
        nn.init.constant_(toy.body.weight, value)
        ema.update(toy, iteration)
    beta1, beta2 = (1 - 1 / 2) ** (gamma + 1), (1 - 1 / 3) ** (gamma + 1)
    expected = (1.0 * beta1 + 3.0 * (1 - beta1)) * beta2 + 7.0 * (1 - beta2)  # iteration 0 copied 1.0
    torch.testing.assert_close(ema.state_dict()["body-weight"], torch.full((3, 2), expected))
    assert ema.beta == beta2
    ema.copy_to(toy)
    torch.testing.assert_close(toy.body.weight, torch.full((3, 2), expected))


def test_update_refuses_a_different_module():
    ema = PowerEMA(_Toy())
    with pytest.raises(ValueError, match="trainable parameters"):
        ema.update(nn.Linear(2, 3, bias=False), 1)
