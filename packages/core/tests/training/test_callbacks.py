"""The callback protocol, build_callbacks and the generic callbacks cosmos-core registers."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import torch
from cosmos_core import plugin as core_plugin
from cosmos_core.config.loader import ConfigError
from cosmos_core.registry import CallbackRegistry, RegistryError
from cosmos_core.training import Callback, CallbackList, build_callbacks
from cosmos_core.training.generic_callbacks import GradientClip, GradNormMonitor, IterSpeed, LogLosses, StopAfter
from cosmos_core.training.wandb_callback import WandbCallback


@pytest.fixture
def registry() -> CallbackRegistry:
    registry = CallbackRegistry()
    core_plugin.cosmos_register_callbacks(registry)
    return registry


def test_core_registers_the_generic_callbacks(registry):
    assert registry.names() == [
        "grad_norm_monitor",
        "gradient_clip",
        "iter_speed",
        "log_losses",
        "stop_after",
        "wandb",
    ]


def test_plugin_module_imports_nothing_heavy():
    code = "import sys, cosmos_core.plugin; print(sorted({'torch', 'wandb'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


SEED_DEFAULTS = {
    "wandb": {},
    "iter_speed": {"every_n": 50, "save_s3": False},
    "gradient_clip": {"clip_norm": 3.0},
    "grad_norm_monitor": {"every_n": 500, "verbose": False},
    "log_losses": {"every_n": 50, "verbose": True},
}


def test_build_the_seed_defaults_in_order(registry):
    callbacks = build_callbacks(SEED_DEFAULTS, registry)
    assert [type(c) for c in callbacks] == [
        WandbCallback,
        IterSpeed,
        GradientClip,
        GradNormMonitor,
        LogLosses,
    ]
    assert callbacks[1].every_n == 50 and callbacks[2].clip_norm == 3.0
    assert callbacks[3].every_n == 500 and not callbacks[3].verbose


def test_unknown_name_suggests_the_closest(registry):
    with pytest.raises(RegistryError, match=r"train\.callbacks\.iter_sped: unknown callback .*'iter_speed'"):
        build_callbacks({"iter_sped": {}}, registry)


def test_bad_parameters_are_reported_together_with_their_paths(registry):
    with pytest.raises(ConfigError) as info:
        build_callbacks({"iter_speed": {"every": 5}, "gradient_clip": {"clip_norm": -1}, "log_losses": [1]}, registry)
    problems = info.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("train.callbacks.iter_speed:") and "every" in problems[0]
    assert problems[1].startswith("train.callbacks.gradient_clip:") and "clip_norm must be > 0" in problems[1]
    assert problems[2].startswith("train.callbacks.log_losses must be a mapping")


def test_null_params_and_family_defaults(registry):
    (callback,) = build_callbacks(
        {"wandb": None}, registry, defaults={"wandb": {"project": "p", "enable": True}, "unused": {"x": 1}}
    )
    assert callback.project == "p" and callback.enable
    (override,) = build_callbacks({"wandb": {"project": "mine"}}, registry, defaults={"wandb": {"project": "p"}})
    assert override.project == "mine"


def test_factory_must_return_a_callback():
    registry = CallbackRegistry()
    registry.add("odd", lambda: object())
    with pytest.raises(ConfigError, match=r"train\.callbacks\.odd: the registered factory returned object"):
        build_callbacks({"odd": {}}, registry)


def test_callback_list_dispatches_in_order_and_rejects_non_callbacks():
    calls = []

    class Named(Callback):
        def __init__(self, name):
            self.name = name

        def on_train_step_end(self, trainer, iteration, losses):
            calls.append((self.name, iteration, losses["a"]))

    callbacks = CallbackList([Named("first"), Named("second")])
    callbacks.on_train_step_end(None, 7, {"a": 1.0})
    callbacks.on_train_start(None)  # base no-ops
    assert calls == [("first", 7, 1.0), ("second", 7, 1.0)]
    with pytest.raises(TypeError, match="is not a cosmos_core.training.callbacks.Callback"):
        CallbackList([object()])


def test_a_failing_on_exception_does_not_hide_the_others(caplog):
    seen = []

    class Broken(Callback):
        def on_exception(self, trainer, exc):
            raise RuntimeError("callback bug")

    class Fine(Callback):
        def on_exception(self, trainer, exc):
            seen.append(exc)

    error = ValueError("original")
    CallbackList([Broken(), Fine()]).on_exception(None, error)
    assert seen == [error] and "callback Broken failed" in caplog.text


def test_gradient_clip_limits_the_total_norm(toy_trainer):
    norms = []

    class Measure(Callback):
        def on_before_optimizer_step(self, trainer, iteration):
            grads = [p.grad for p in trainer.module.parameters()]
            norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    toy_trainer(max_iter=2, callbacks=[Measure(), GradientClip(clip_norm=0.01), Measure()]).fit()
    assert norms[0] > 0.01 and norms[1] == pytest.approx(0.01, rel=1e-4)


def test_log_losses_iter_speed_and_grad_norm_monitor_log(toy_trainer, toys, caplog):
    recorder = toys.Recorder()
    callbacks = [
        LogLosses(every_n=2),
        IterSpeed(every_n=2),
        GradNormMonitor(every_n=2, verbose=True),
        recorder,
    ]
    with caplog.at_level(logging.DEBUG, logger="cosmos"):
        toy_trainer(max_iter=4, callbacks=callbacks).fit()
    lines = [r.getMessage() for r in caplog.records]
    loss_lines = [line for line in lines if line.startswith("iter ") and "| mse " in line]
    assert len(loss_lines) == 2
    assert loss_lines[0].startswith("iter 2/4 | mse ") and "| weight_reg " in loss_lines[0]
    assert "| total " in loss_lines[0] and "| lr " in loss_lines[0] and "| ETA " in loss_lines[0]
    assert sum("it/s" in line and "samples/s" in line for line in lines) == 2
    assert sum(line.startswith("iter 2: gradient norm ") for line in lines) == 5  # total + 4 parameters
    published = [values for _, values in recorder.of("log") if "speed/samples_per_s" in values]
    assert len(published) == 2
    assert any("grad_norm/total" in values for _, values in recorder.of("log"))


def test_log_losses_not_verbose_goes_to_debug(toy_trainer, caplog):
    with caplog.at_level(logging.DEBUG, logger="cosmos"):
        toy_trainer(max_iter=2, callbacks=[LogLosses(every_n=1, verbose=False)]).fit()
    assert {r.levelno for r in caplog.records if "| mse " in r.getMessage()} == {logging.DEBUG}


def test_iter_speed_save_s3_is_ignored_with_a_warning(caplog):
    IterSpeed(save_s3=True)
    assert "save_s3 is not supported" in caplog.text


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_every_n_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="every_n must be a positive integer"):
        LogLosses(every_n=bad)


def test_wandb_switches_itself_off_without_a_key(toy_trainer, monkeypatch, caplog):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "online")
    callback = WandbCallback(enable=True)
    with caplog.at_level(logging.INFO, logger="cosmos"):
        toy_trainer(max_iter=2, callbacks=[callback]).fit()
    assert callback.run is None
    off = [r for r in caplog.records if "Weights and Biases logging is off" in r.getMessage()]
    assert len(off) == 1 and "no API key" in off[0].getMessage()


def test_wandb_disabled_by_config_stays_silent(toy_trainer, caplog):
    callback = WandbCallback()
    with caplog.at_level(logging.INFO, logger="cosmos"):
        toy_trainer(max_iter=1, callbacks=[callback]).fit()
    assert callback.run is None and "Weights and Biases" not in caplog.text


def test_wandb_logs_through_a_run_in_disabled_mode(toy_trainer, monkeypatch):
    """WANDB_MODE=disabled needs no key: init, log and finish run against wandb's no-op run."""
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    logged = []

    class Spy(WandbCallback):
        def on_log(self, trainer, iteration, values):
            assert self.run is not None
            logged.append((iteration, values))
            super().on_log(trainer, iteration, values)

    callback = Spy(enable=True, project="toy", tags=["a"], config={"train": {"max_iter": 2}})
    toy_trainer(max_iter=2, callbacks=[callback]).fit()
    assert [it for it, _ in logged] == [1, 2] and "train/mse" in logged[0][1]
    assert callback.run is None  # finished


def test_stop_after_ends_training_with_a_checkpoint_and_a_rerun_continues(toy_trainer, toys, tmp_path):
    first = toy_trainer(max_iter=10, checkpoint_every=100, callbacks=[StopAfter(iteration=3)])
    result = first.fit()
    assert result.iteration == 3 and result.checkpoint == tmp_path / "train" / "toy_model_3.pth"
    recorder = toys.Recorder()
    resumed = toy_trainer(max_iter=5, resume_from=str(result.checkpoint), callbacks=[recorder])
    assert resumed.fit().iteration == 5 and [it for it, _ in recorder.of("step_end")] == [4, 5]
    with pytest.raises(ValueError, match="give iteration, minutes or both"):
        StopAfter()
