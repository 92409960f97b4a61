"""Precision plans and training in each precision on CPU."""

from __future__ import annotations

import logging

import torch
from cosmos_core.training import precision as precision_module
from cosmos_core.training.precision import resolve_precision


def test_fp32_has_no_autocast_and_no_scaling():
    plan = resolve_precision("fp32", torch.device("cpu"))
    with plan.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert not plan.scaler.is_enabled()


def test_bf16_autocasts_on_a_cpu_with_bf16_instructions(cpu_bf16):
    plan = resolve_precision("bf16", torch.device("cpu"))
    with plan.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    assert plan.name == "bf16" and not plan.scaler.is_enabled()


def test_fp16_uses_a_grad_scaler_where_autocast_supports_it():
    plan = resolve_precision("fp16", torch.device("cpu"))
    if precision_module.autocast_supported("cpu", torch.float16):
        assert plan.name == "fp16" and plan.scaler.is_enabled()
    else:
        assert plan.name == "fp32"


def test_fp16_without_cpu_support_falls_back_to_fp32_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(precision_module, "autocast_supported", lambda device_type, dtype: False)
    with caplog.at_level(logging.WARNING, logger="cosmos"):
        plan = resolve_precision("fp16", torch.device("cpu"))
    assert plan.name == "fp32" and plan.dtype is None and not plan.scaler.is_enabled()
    assert len(caplog.records) == 1 and "train.precision=fp16" in caplog.records[0].getMessage()
    assert "running in fp32 instead" in caplog.records[0].getMessage()


def test_bf16_on_a_cpu_without_bf16_instructions_runs_fp32_with_one_warning_naming_the_setting(monkeypatch, caplog):
    monkeypatch.setattr(precision_module, "cpu_runs_bf16_natively", lambda: False)
    with caplog.at_level(logging.WARNING, logger="cosmos"):
        plan = resolve_precision("bf16", torch.device("cpu"), "model.precision")
    assert plan.name == "fp32" and plan.dtype is None
    (record,) = caplog.records
    assert record.getMessage().startswith("model.precision=bf16: this CPU (")
    assert "no bf16 matrix instructions" in record.getMessage() and "running in fp32 instead" in record.getMessage()


def test_the_native_bf16_check_agrees_with_pytorchs_own():
    expected = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert precision_module.cpu_runs_bf16_natively() == expected


def test_training_runs_in_each_precision(toy_trainer, toys, cpu_bf16):
    for precision in ("fp32", "bf16", "fp16"):
        recorder = toys.Recorder()
        trainer = toy_trainer(max_iter=3, precision=precision, callbacks=[recorder])
        before = trainer.module.head.weight.detach().clone()
        trainer.fit()
        losses = recorder.losses()
        assert len(losses) == 3
        assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in losses)
        assert not torch.equal(before, trainer.module.head.weight), precision
        assert trainer.module.head.weight.dtype == torch.float32  # master weights stay fp32
