"""cosmos-core's own plugin: the generic training callbacks. Imports nothing heavy.

Each factory imports its callback's module (and so torch) only when a spec names the callback.
"""

from __future__ import annotations

from typing import Any

from cosmos_core.hookspecs import hookimpl
from cosmos_core.registry import CallbackRegistry


def iter_speed(**params: Any) -> Any:
    from cosmos_core.training.generic_callbacks import IterSpeed

    return IterSpeed(**params)


def gradient_clip(**params: Any) -> Any:
    from cosmos_core.training.generic_callbacks import GradientClip

    return GradientClip(**params)


def grad_norm_monitor(**params: Any) -> Any:
    from cosmos_core.training.generic_callbacks import GradNormMonitor

    return GradNormMonitor(**params)


def log_losses(**params: Any) -> Any:
    from cosmos_core.training.generic_callbacks import LogLosses

    return LogLosses(**params)


def stop_after(**params: Any) -> Any:
    from cosmos_core.training.generic_callbacks import StopAfter

    return StopAfter(**params)


def wandb(**params: Any) -> Any:
    from cosmos_core.training.wandb_callback import WandbCallback

    return WandbCallback(**params)


@hookimpl
def cosmos_register_callbacks(registry: CallbackRegistry) -> None:
    registry.add("wandb", wandb, help="Log training metrics to Weights and Biases (off without an API key).")
    registry.add("iter_speed", iter_speed, help="Log iterations and samples per second every N iterations.")
    registry.add("gradient_clip", gradient_clip, help="Clip gradients to a maximum total L2 norm.")
    registry.add("grad_norm_monitor", grad_norm_monitor, help="Log gradient norms every N iterations.")
    registry.add("log_losses", log_losses, help="Log every loss, the LR and the ETA every N iterations.")
    registry.add(
        "stop_after", stop_after, help="End training cleanly with a checkpoint after N iterations or M minutes."
    )
