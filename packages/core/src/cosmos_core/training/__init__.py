"""The generic training loop, its settings, callbacks, checkpointers, sampler and run logging."""

from cosmos_core.training.batches import BatchFormat, FirstTensorRows, LoaderSettings, SeededSamples
from cosmos_core.training.callbacks import Callback, CallbackList, TrainerView, build_callbacks
from cosmos_core.training.checkpoint import (
    CHECKPOINT_FORMAT,
    Checkpointer,
    CheckpointError,
    ShardedCheckpointer,
    ShardedLayout,
    SingleFileCheckpointer,
    TrainingState,
    load_checkpoint,
)
from cosmos_core.training.logs import RunLogging, setup_run_logging
from cosmos_core.training.loop import DataError, Trainer, TrainResult, default_validate
from cosmos_core.training.sampler import ResumableSampler
from cosmos_core.training.settings import LoopSettings, OptimizerSettings, ScheduleSettings

__all__ = [
    "CHECKPOINT_FORMAT",
    "BatchFormat",
    "Callback",
    "CallbackList",
    "CheckpointError",
    "Checkpointer",
    "DataError",
    "FirstTensorRows",
    "LoaderSettings",
    "LoopSettings",
    "OptimizerSettings",
    "ResumableSampler",
    "RunLogging",
    "ScheduleSettings",
    "SeededSamples",
    "ShardedCheckpointer",
    "ShardedLayout",
    "SingleFileCheckpointer",
    "TrainResult",
    "Trainer",
    "TrainerView",
    "TrainingState",
    "build_callbacks",
    "default_validate",
    "load_checkpoint",
    "setup_run_logging",
]
