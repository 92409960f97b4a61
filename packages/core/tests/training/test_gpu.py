"""The loop on CUDA: autocast, fp16 gradient scaling, fused AdamW, CUDA RNG in checkpoints."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.training import load_checkpoint
from cosmos_core.training.rng import restore_rng_state

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_with_fused_adamw_on_cuda(toy_trainer, toys, precision):
    recorder = toys.Recorder()
    trainer = toy_trainer(
        max_iter=4, precision=precision, device="cuda", optimizer={"name": "fused_adamw"}, callbacks=[recorder]
    )
    trainer.fit()
    assert trainer.precision.name == precision
    assert trainer.precision.scaler.is_enabled() == (precision == "fp16")
    assert trainer.optimizer.param_groups[0]["fused"] is True
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in recorder.losses())
    # the module trained on the GPU, and its fp32 master weights stayed fp32 under autocast
    trained = trainer.module.state_dict()
    assert {tensor.device.type for tensor in trained.values()} == {"cuda"}
    payload = load_checkpoint(trainer.output_dir / "toy_model_4.pth")
    # the checkpoint holds the weights of the last step (read back onto the CPU), bit for bit
    assert payload["model"].keys() == trained.keys()
    for name, tensor in trained.items():
        assert payload["model"][name].dtype == torch.float32
        assert torch.equal(payload["model"][name], tensor.cpu()), name
    # the CUDA generator's state at the save was captured: restoring it replays the draws that follow
    # (nothing draws between the final save and the end of fit). Without it, or with a stale state,
    # the second draw would differ from the first.
    assert "cuda" in payload["rng"][0]
    after_save = torch.randn(64, device="cuda")
    restore_rng_state(payload["rng"][0])
    assert torch.equal(torch.randn(64, device="cuda"), after_save)


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
        resume_from=str(result.checkpoint),
    ).fit()
    resumed = first.losses() + second.losses()
    for got, expected in zip(resumed, full.losses(), strict=True):
        assert got == pytest.approx(expected, rel=1e-6)
