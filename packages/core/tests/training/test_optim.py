"""Optimizers and learning-rate schedules."""

from __future__ import annotations

import logging

import pytest
import torch
from cosmos_core.training.optim import build_optimizer, build_scheduler, lr_factor, parameter_groups
from cosmos_core.training.settings import OptimizerSettings, ScheduleSettings


def factors(cfg: ScheduleSettings, steps: int) -> list[float]:
    return [lr_factor(step, cfg) for step in range(steps)]


def test_warmup_can_start_above_zero():
    """The reference's LambdaLinear warm-up starts at a factor of 1e-6, not 0."""
    cfg = ScheduleSettings(warmup_steps=4, policy="constant", warmup_start=0.2)
    assert factors(cfg, 5) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_warmup_rises_linearly_from_zero():
    cfg = ScheduleSettings(warmup_steps=4, decay_steps=20, policy="constant")
    assert factors(cfg, 6) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_cosine_decays_to_zero_at_lr_decay_iters_and_stays():
    cfg = ScheduleSettings(warmup_steps=2, decay_steps=12, policy="cosine")
    values = factors(cfg, 16)
    assert values[2] == 1.0
    assert values[7] == pytest.approx(0.5)  # half-way through the decay span
    assert values[12] == pytest.approx(0.0, abs=1e-12) and values[15] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(values[2:], values[3:], strict=False))


def test_linear_decays_evenly():
    cfg = ScheduleSettings(warmup_steps=0, decay_steps=4, policy="linear")
    assert factors(cfg, 6) == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_constant_after_warmup():
    cfg = ScheduleSettings(warmup_steps=0, decay_steps=1, policy="constant")
    assert factors(cfg, 3) == [1.0, 1.0, 1.0]


def test_scheduler_applies_the_factor_to_the_base_lr():
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(model, OptimizerSettings(lr=0.1))
    scheduler = build_scheduler(optimizer, ScheduleSettings(warmup_steps=2, decay_steps=10, policy="cosine"))
    seen = []
    for _ in range(3):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([0.0, 0.05, 0.1])


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("adamw", torch.optim.AdamW),
        ("fused_adamw", torch.optim.AdamW),
        ("adam", torch.optim.Adam),
        ("sgd", torch.optim.SGD),
    ],
)
def test_each_optimizer_steps(name, cls):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = build_optimizer(model, OptimizerSettings(name=name, lr=0.1, weight_decay=0.01, betas=(0.9, 0.98)))
    assert type(optimizer) is cls
    before = model.weight.detach().clone()
    model(torch.randn(5, 3)).pow(2).mean().backward()
    optimizer.step()
    assert not torch.equal(before, model.weight)
    if name == "sgd":
        assert optimizer.param_groups[0]["momentum"] == 0.9
    if name == "fused_adamw":
        assert optimizer.param_groups[0]["fused"] is True
    if name in ("adamw", "adam"):
        assert optimizer.param_groups[0]["betas"] == (0.9, 0.98)


def test_fused_adamw_falls_back_with_one_warning(monkeypatch, caplog):
    real = torch.optim.AdamW

    def no_fused(params, **kwargs):
        if kwargs.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be on a supported device")
        return real(params, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", no_fused)
    with caplog.at_level(logging.WARNING, logger="cosmos"):
        optimizer = build_optimizer(torch.nn.Linear(2, 2), OptimizerSettings(name="fused_adamw"))
    assert not optimizer.param_groups[0]["fused"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "fused_adamw is not available" in warnings[0].getMessage()


def test_default_groups_do_not_decay_biases_and_scalars():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    model.logit_scale = torch.nn.Parameter(torch.tensor(1.0))
    frozen = torch.nn.Linear(3, 3)
    frozen.requires_grad_(False)
    model.frozen = frozen
    groups = parameter_groups(model, 0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert [len(g["params"]) for g in groups] == [1, 4]  # linear.weight | bias, norm w+b, logit_scale


def test_module_may_choose_its_groups():
    class Custom(torch.nn.Linear):
        def optimizer_param_groups(self, weight_decay):
            return [{"params": [self.weight], "weight_decay": weight_decay, "lr": 1.0}]

    optimizer = build_optimizer(Custom(2, 2), OptimizerSettings(lr=0.5))
    assert len(optimizer.param_groups) == 1 and optimizer.param_groups[0]["lr"] == 1.0


def test_no_trainable_parameters_is_an_error():
    model = torch.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(model, OptimizerSettings())
