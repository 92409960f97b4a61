"""fp32 master weights behind a bf16 module: the update rule, what a bf16-only step would lose, resume."""

import io

import pytest
import torch
from cosmos_core.training.master_weights import MASTER_KEY, with_master_weights
from cosmos_core.training.optim import build_optimizer
from cosmos_core.training.settings import LoopSettings, OptimizerSettings
from torch import nn


def bf16_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    model[2].to(torch.bfloat16)
    model[0].to(torch.bfloat16)
    return model


def loss_of(model: nn.Module, seed: int) -> torch.Tensor:
    torch.manual_seed(100 + seed)
    x = torch.randn(5, 8, dtype=torch.bfloat16)
    return model(x).float().pow(2).mean()


def test_the_masters_step_as_fp32_adamw_and_the_module_holds_them_rounded():
    model = bf16_model()
    reference = [nn.Parameter(p.detach().float().clone()) for p in model.parameters()]
    optimizer = with_master_weights(torch.optim.AdamW)(model.parameters(), lr=1e-2, weight_decay=0.1)
    plain = torch.optim.AdamW(reference, lr=1e-2, weight_decay=0.1)
    for step in range(3):
        loss_of(model, step).backward()
        for mine, ref in zip(model.parameters(), reference, strict=True):
            ref.grad = mine.grad.float()
        optimizer.step()
        plain.step()
        optimizer.zero_grad()
        plain.zero_grad()
        for (parameter, master), ref in zip(optimizer.master_pairs, reference, strict=True):
            assert torch.equal(master, ref)
            assert parameter.dtype == torch.bfloat16 and torch.equal(parameter, ref.to(torch.bfloat16))
    assert all(p.grad is None for p in model.parameters())


def test_updates_below_bf16_resolution_accumulate_in_the_masters():
    weight = nn.Parameter(torch.ones(4, dtype=torch.bfloat16))
    optimizer = with_master_weights(torch.optim.SGD)([weight], lr=1e-3)
    bare = nn.Parameter(torch.ones(4, dtype=torch.bfloat16))
    bare_optimizer = torch.optim.SGD([bare], lr=1e-3)
    for _ in range(20):
        weight.grad = torch.ones(4, dtype=torch.bfloat16)
        bare.grad = torch.ones(4, dtype=torch.bfloat16)
        optimizer.step()
        bare_optimizer.step()
    assert torch.equal(bare, torch.ones(4, dtype=torch.bfloat16))  # each 1e-3 step rounds away in bf16
    assert torch.allclose(optimizer.master_pairs[0][1], torch.full((4,), 0.98), atol=1e-6)
    assert torch.all(weight < 1)  # and the module's weight follows once the masters moved far enough


def test_fp32_parameters_are_stepped_directly():
    model = nn.Linear(3, 3)
    optimizer = with_master_weights(torch.optim.AdamW)(model.parameters(), lr=1e-2)
    assert optimizer.master_pairs == []
    assert optimizer.param_groups[0]["params"][0] is model.weight


def test_resuming_restores_the_exact_masters_not_the_rounded_weights():
    model = bf16_model()
    settings = OptimizerSettings(name="adamw", lr=1e-2, master_weights=True)
    optimizer = build_optimizer(model, settings)
    for step in range(2):
        loss_of(model, step).backward()
        optimizer.step()
        optimizer.zero_grad()
    buffer = io.BytesIO()  # through a file, as a checkpoint does (state dicts share the live tensors)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    saved_model, saved_optimizer = saved["model"], saved["optimizer"]
    assert len(saved_optimizer[MASTER_KEY]) == 4

    resumed = bf16_model(seed=5)
    resumed.load_state_dict(saved_model)
    resumed_optimizer = build_optimizer(resumed, settings)
    resumed_optimizer.load_state_dict(saved_optimizer)
    for step in (2, 3):
        for m, opt in ((model, optimizer), (resumed, resumed_optimizer)):
            loss_of(m, step).backward()
            opt.step()
            opt.zero_grad()
    for (_, a), (_, b) in zip(optimizer.master_pairs, resumed_optimizer.master_pairs, strict=True):
        assert torch.equal(a, b)


def test_a_checkpoint_of_another_model_is_refused():
    settings = OptimizerSettings(master_weights=True)
    saved = build_optimizer(bf16_model(), settings).state_dict()
    saved[MASTER_KEY] = saved[MASTER_KEY][:1]
    with pytest.raises(ValueError, match="holds 1 master weights, this run has 4"):
        build_optimizer(bf16_model(), settings).load_state_dict(saved)


def test_fp16_scaling_with_master_weights_is_a_config_problem():
    settings = LoopSettings(
        max_iter=1,
        checkpoint_every=1,
        precision="fp16",
        optimizer=OptimizerSettings(master_weights=True),
        sources={"optimizer.master_weights": "optimizer.master_weights", "precision": "model.precision"},
    )
    assert settings.problems() == [
        "optimizer.master_weights does not combine with fp16 gradient scaling (model.precision=fp16): use bf16"
    ]
