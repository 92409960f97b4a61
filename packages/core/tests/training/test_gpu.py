"""The loop on CUDA: autocast, fp16 gradient scaling, fused AdamW, CUDA RNG in checkpoints."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.training import load_checkpoint

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_with_fused_adamw_on_cuda(toy_trainer, toys, precision):
    recorder = toys.Recorder()
    trainer = toy_trainer(
        max_iter=4, precision=precision, device="cuda", optim={"optim": "fused_adamw"}, callbacks=[recorder]
    )
    trainer.fit()
    assert trainer.precision.name == precision
    assert trainer.precision.scaler.is_enabled() == (precision == "fp16")
    assert trainer.optimizer.param_groups[0]["fused"] is True
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in recorder.losses())
    payload = load_checkpoint(trainer.output_dir / "toy_model_4.pth")
    assert payload["model"]["head.weight"].device.type == "cpu"
    assert "cuda" in payload["rng"][0]


def test_resume_on_cuda_continues_the_same_losses(toy_trainer, toys, tmp_path):
    full = toys.Recorder()
    toy_trainer(max_iter=6, device="cuda", callbacks=[full], output_dir=tmp_path / "full").fit()
    first = toys.Recorder()
    result = toy_trainer(max_iter=3, device="cuda", callbacks=[first], output_dir=tmp_path / "a").fit()
    second = toys.Recorder()
    toy_trainer(
        max_iter=6,
        device="cuda",
        callbacks=[second],
        output_dir=tmp_path / "b",
        resume_training_checkpoint_path=str(result.checkpoint),
    ).fit()
    resumed = first.losses() + second.losses()
    for got, expected in zip(resumed, full.losses(), strict=True):
        assert got == pytest.approx(expected, rel=1e-6)
