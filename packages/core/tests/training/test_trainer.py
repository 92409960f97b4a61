"""The training loop end to end on a toy regression problem."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from cosmos_core.config.loader import ConfigError
from cosmos_core.training import (
    CheckpointError,
    LoaderSettings,
    ResumableSampler,
    SingleFileCheckpointer,
    Trainer,
    load_checkpoint,
)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in trainer.module.state_dict().items()}


def test_resume_continues_the_same_loss_curve(toy_trainer, toys, tmp_path):
    """2N iterations in one run equal N iterations plus a resume to 2N (data order, RNG, schedule)."""
    full_log = toys.Recorder()
    full = toy_trainer(max_iter=8, checkpoint_every=4, callbacks=[full_log], output_dir=tmp_path / "full")
    full_result = full.fit()

    first_log = toys.Recorder()
    first = toy_trainer(max_iter=4, checkpoint_every=4, callbacks=[first_log], output_dir=tmp_path / "a")
    first_result = first.fit()
    assert first_result.iteration == 4
    assert first_result.checkpoint == tmp_path / "a" / "toy_model_4.pth"

    second_log = toys.Recorder()
    second = toy_trainer(
        max_iter=8,
        checkpoint_every=4,
        callbacks=[second_log],
        output_dir=tmp_path / "b",
        resume_from=str(first_result.checkpoint),
    )
    second_result = second.fit()

    assert [it for it, _ in second_log.of("step_end")] == [5, 6, 7, 8]
    assert first_log.losses() + second_log.losses() == full_log.losses()  # exactly, not approximately
    assert second_result.iteration == full_result.iteration == 8
    for name, value in weights(full).items():
        assert torch.equal(value, weights(second)[name]), name
    assert sorted(p.name for p in (tmp_path / "full").glob("*.pth")) == [
        "toy_model_4.pth",
        "toy_model_8.pth",
        "toy_model_latest.pth",
    ]
    assert sorted(p.name for p in (tmp_path / "b").glob("*.pth")) == [
        "toy_model_8.pth",
        "toy_model_latest.pth",
    ]


def test_checkpoint_payload(toy_trainer):
    result = toy_trainer(max_iter=3, checkpoint_every=3).fit()
    payload = load_checkpoint(result.checkpoint)
    assert set(payload) == {
        "format",
        "model",
        "optimizer",
        "scheduler",
        "scaler",
        "iteration",
        "rng",
        "data",
        "metadata",
        "callbacks",
    }
    assert payload["iteration"] == 3
    assert payload["metadata"] == {"family": "toy", "model": {"width": 8}}
    assert set(payload["model"]) == {"linear.weight", "linear.bias", "head.weight", "head.bias"}
    assert payload["data"]["epoch"] == 0 and payload["data"]["position"] == 12
    assert set(payload["rng"][0]) >= {"python", "numpy", "torch"}
    latest = load_checkpoint(result.latest)
    assert torch.equal(latest["model"]["head.weight"], payload["model"]["head.weight"])


def test_data_order_crosses_epochs(toy_trainer):
    """24 samples, batch 4: iterations 7-12 are epoch 1, a new permutation of all samples."""
    trainer = toy_trainer(max_iter=12, checkpoint_every=100)
    seen = []
    original = trainer.module.forward

    def spy(batch):
        seen.extend(int(i) for i in batch["index"])
        return original(batch)

    trainer.module.forward = spy
    trainer.fit()
    assert sorted(seen[:24]) == list(range(24)) and sorted(seen[24:]) == list(range(24))
    assert seen[:24] != seen[24:]


def test_gradient_accumulation_matches_the_large_batch(toy_trainer):
    """Batch 4 x 2 accumulation steps updates like batch 8 (equal micro-batches, mean losses)."""
    sgd = {"optimizer": {"name": "sgd"}, "schedule": {"warmup_steps": 0, "policy": "cosine", "decay_steps": 40}}
    big = toy_trainer(batch_size=8, max_iter=3, **sgd)
    small = toy_trainer(batch_size=4, grad_accum_steps=2, max_iter=3, **sgd)

    class NoNoise(torch.nn.Module):  # the toy's forward noise differs between the two splits
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, batch):
            hidden = torch.tanh(self.inner.linear(batch["x"]))
            pred = self.inner.head(hidden).squeeze(-1)
            return {"mse": ((pred - batch["y"]) ** 2).mean()}

    for trainer in (big, small):
        trainer.model = NoNoise(trainer.module)
        trainer.fit()
    for name, value in weights(big).items():
        torch.testing.assert_close(weights(small)[name], value, rtol=1e-5, atol=1e-6)
    assert big.samples_per_iteration == small.samples_per_iteration == 8


def test_validation_runs_every_n_iterations_and_is_limited(toy_trainer, toys):
    recorder = toys.Recorder()
    trainer = toy_trainer(max_iter=4, validation_every=2, max_val_batches=2, val=True, callbacks=[recorder])
    calls_before = trainer.module.forward_calls
    trainer.fit()
    validations = recorder.of("validation_end")
    assert [it for it, _ in validations] == [2, 4]
    assert set(validations[0][1]) == {"mse", "weight_reg"}
    # 4 training forwards + 2 validations x 2 batches
    assert trainer.module.forward_calls - calls_before == 4 + 4
    assert trainer.module.training
    logged = [values for it, values in recorder.of("log") if "val/mse" in values]
    assert len(logged) == 2


def test_custom_validate_fn(toy_trainer, toys, tmp_path):
    seen_modes = []

    def validate_fn(module, batch):
        seen_modes.append((module.training, torch.is_grad_enabled()))
        return {"rows": float(batch["x"].shape[0])}

    trainer = Trainer(
        module=toys.ToyModule(),
        settings=toys.make_settings(max_iter=1, validation_every=1),
        train_dataset=toys.ToyDataset(),
        train_loader=LoaderSettings(batch_size=4),
        collate_fn=toys.collate,
        batch_format=toys.ToyBatches(),
        val_dataset=toys.ToyDataset(size=10),
        val_loader=LoaderSettings(batch_size=4, drop_last=False),
        checkpointer=SingleFileCheckpointer(tmp_path, "toy"),
        validate_fn=validate_fn,
    )
    trainer.fit()
    assert seen_modes == [(False, False)] * 3
    assert trainer.validate() == {"rows": pytest.approx(10 / 3)}


def test_empty_batches_are_skipped_and_reasons_collected(toy_trainer, toys):
    order = ResumableSampler(24, seed=toys.make_settings().seed).shard(0)
    empty, partial = tuple(order[4:8]), (order[8],)  # batch 2 loses every row, batch 3 one row
    trainer = toy_trainer(max_iter=5, dataset=toys.ToyDataset(empty_indices=empty + partial))
    trainer.fit()
    assert trainer.module.batch_sizes[:3] == [4, 3, 4]
    assert sorted(entry["path"] for entry in trainer.skipped) == sorted(f"video_{i}.mp4" for i in empty + partial)
    assert all(entry["reason"] == "cannot decode" for entry in trainer.skipped)
    # 5 iterations consumed 6 batches; epoch 1 meets the same unreadable files without duplicates
    trainer2 = toy_trainer(max_iter=12, dataset=toys.ToyDataset(empty_indices=empty + partial))
    trainer2.fit()
    assert len(trainer2.skipped) == 5


def test_all_samples_skipped_is_a_clear_error(toy_trainer, toys):
    trainer = toy_trainer(max_iter=2, dataset=toys.ToyDataset(size=8, empty_indices=tuple(range(8))))
    with pytest.raises(RuntimeError, match="every training sample of epoch 0 was skipped"):
        trainer.fit()


def test_keyboard_interrupt_saves_latest_then_reraises(toy_trainer, toys):
    recorder = toys.Recorder()
    trainer = toy_trainer(max_iter=10, checkpoint_every=100, callbacks=[recorder])
    original = trainer.module.forward

    def interrupt_on_fourth_step(batch):
        if trainer.iteration == 3:
            raise KeyboardInterrupt
        return original(batch)

    trainer.module.forward = interrupt_on_fourth_step
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    latest = trainer.output_dir / "toy_model_latest.pth"
    payload = load_checkpoint(latest)
    assert payload["iteration"] == 3
    assert payload["data"]["position"] == 12  # the interrupted iteration's batch is not counted
    assert recorder.of("exception")[0][0] == 3
    assert not list(trainer.output_dir.glob("toy_model_3.pth"))

    resumed = toy_trainer(max_iter=5, resume_from=str(latest))
    assert resumed.fit().iteration == 5


class Returns(torch.nn.Module):
    """A module whose forward returns a fixed value (to test what the loop accepts)."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, batch):
        return self.value


def test_exceptions_reach_callbacks_and_propagate(toy_trainer, toys):
    recorder = toys.Recorder()
    trainer = toy_trainer(max_iter=3, callbacks=[recorder])
    trainer.model = Returns({"loss": torch.tensor(float("nan"), requires_grad=True)})
    with pytest.raises(FloatingPointError, match="non-finite loss at iteration 1"):
        trainer.fit()
    assert isinstance(recorder.of("exception")[0][1], FloatingPointError)


def test_forward_must_return_named_scalar_losses(toy_trainer):
    trainer = toy_trainer(max_iter=1)
    trainer.model = Returns(torch.ones((), requires_grad=True))
    with pytest.raises(TypeError, match="non-empty dict of scalar loss tensors"):
        trainer.fit()


def test_callback_event_order(toy_trainer, toys):
    recorder = toys.Recorder()
    toy_trainer(max_iter=2, checkpoint_every=2, validation_every=2, val=True, callbacks=[recorder]).fit()
    events = [event for event, _, _ in recorder.events]
    assert events == [
        "train_start",
        "before_step",
        "log",
        "step_end",
        "before_step",
        "log",
        "step_end",
        "log",
        "validation_end",
        "save",
        "train_end",
    ]
    assert recorder.of("log")[0][1]["train/lr"] == 0.0  # warm-up starts at 0


def test_invalid_train_config_is_rejected_before_work(toy_trainer):
    with pytest.raises(ConfigError, match=r"max_iter must be > 0"):
        toy_trainer(max_iter=0)


def test_metadata_must_be_plain_data(toys, tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint_metadata\['path'\] is a \w*Path"):
        Trainer(
            module=toys.ToyModule(),
            settings=toys.make_settings(),
            train_dataset=toys.ToyDataset(),
            train_loader=LoaderSettings(batch_size=4),
            collate_fn=toys.collate,
            checkpointer=SingleFileCheckpointer(tmp_path, "toy"),
            checkpoint_metadata={"path": tmp_path},
        )


def test_too_small_dataset_is_a_clear_error(toy_trainer, toys):
    with pytest.raises(ValueError, match="fewer than one batch of 4 per rank"):
        toy_trainer(dataset=toys.ToyDataset(size=3))


def test_resume_from_a_mismatched_model_names_the_file(toy_trainer, toys, tmp_path):
    result = toy_trainer(max_iter=1, output_dir=tmp_path / "a").fit()

    class Wider(toys.ToyModule):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 16)
            self.head = torch.nn.Linear(16, 1)

    trainer = toy_trainer(module=Wider(), resume_from=str(result.checkpoint))
    with pytest.raises(CheckpointError, match="toy_model_1.pth does not fit this model"):
        trainer.fit()


def test_trainer_clip_grad_norm_clips_before_the_step(toy_trainer):
    norms = []
    trainer = toy_trainer(max_iter=1, clip_grad_norm=1e-3)

    def record_norm(optimizer, args, kwargs):
        grads = [p.grad for p in trainer.module.parameters() if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    trainer.optimizer.register_step_pre_hook(record_norm)
    trainer.fit()
    assert norms == [pytest.approx(1e-3, rel=1e-4)]


def test_ctrl_c_during_an_update_waits_for_the_update(toy_trainer):
    """SIGINT inside optimizer.step is delivered once the step, scheduler and counters are done."""
    trainer = toy_trainer(max_iter=10, checkpoint_every=100)

    def interrupt_during_second_step(optimizer, args, kwargs):
        if trainer.iteration == 1:
            os.kill(os.getpid(), signal.SIGINT)

    trainer.optimizer.register_step_pre_hook(interrupt_during_second_step)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    payload = load_checkpoint(trainer.output_dir / "toy_model_latest.pth")
    assert payload["iteration"] == trainer.iteration == 2
    assert payload["scheduler"]["last_epoch"] == 2
    assert torch.equal(payload["model"]["head.weight"], trainer.module.head.weight)


def test_resuming_a_finished_run_trains_nothing_and_touches_nothing(toy_trainer, toys, caplog):
    result = toy_trainer(max_iter=4, checkpoint_every=100).fit()
    stamp = result.checkpoint.stat().st_mtime_ns
    recorder = toys.Recorder()
    with caplog.at_level("INFO", logger="cosmos"):
        again = toy_trainer(max_iter=3, resume_from=str(result.checkpoint), callbacks=[recorder]).fit()
    assert again.iteration == 4 and not recorder.of("step_end") and not recorder.of("save")
    assert result.checkpoint.stat().st_mtime_ns == stamp
    assert "at or past max_iter=3: nothing to train" in caplog.text
