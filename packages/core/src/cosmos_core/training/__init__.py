"""The generic training loop, its callbacks, checkpoints, sampler and run logging."""

from cosmos_core.training.batches import LoaderSettings
from cosmos_core.training.callbacks import Callback, CallbackList, build_callbacks
from cosmos_core.training.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint
from cosmos_core.training.config_checks import validate_train_config
from cosmos_core.training.logs import RunLogging, setup_run_logging
from cosmos_core.training.loop import Trainer, TrainResult, default_validate
from cosmos_core.training.sampler import ResumableSampler

__all__ = [
    "CHECKPOINT_FORMAT",
    "Callback",
    "CallbackList",
    "CheckpointError",
    "LoaderSettings",
    "ResumableSampler",
    "RunLogging",
    "TrainResult",
    "Trainer",
    "build_callbacks",
    "default_validate",
    "load_checkpoint",
    "setup_run_logging",
    "validate_train_config",
]
