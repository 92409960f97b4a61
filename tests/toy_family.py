"""A toy model family for the core's contract tests: ``cosmos-run -p toy_family toy-tp train ...``.

It is shaped like Cosmos-Transfer1 and nothing like Cosmos-Embed1: Hydra-style experiment names
(``-- experiment=toy_tp2``), the reference's config names (``trainer.max_iter``,
``checkpoint.save_iter``, ``model_parallel.tensor_model_parallel_size``), a job folder
``${OUTPUT_ROOT:-checkpoints}/PROJECT/GROUP/NAME/`` with ``config.yaml``, a two-layer MLP built on the
meta device and split column/row-wise over the tensor-parallel mesh with DTensor, sharded checkpoints
in the reference's file names, and auto-resume from ``latest_checkpoint.txt``.

Every rank appends what it saw (batch indices, the noise it drew, losses, gradient norms) to
``<job>/records/rank<R>.jsonl`` so tests can compare ranks and runs. ``stop_at_iteration`` sends the
job a SIGTERM (to torchrun, which forwards it, or to this process) after that iteration, as
``docker stop`` or a pre-empting scheduler would.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import attrs
import torch
from cosmos_core import signals
from cosmos_core.config import option
from cosmos_core.distributed import under_torchrun
from cosmos_core.family import Action, DeviceRequest, ModelFamily, ParallelDims
from cosmos_core.hookspecs import hookimpl
from cosmos_core.training import (
    Callback,
    LoaderSettings,
    LoopSettings,
    OptimizerSettings,
    ShardedCheckpointer,
    Trainer,
)
from cosmos_core.training.generic_callbacks import GradNormMonitor
from torch import nn


@attrs.frozen
class Job:
    project: str = option("toy_project", help="project folder")
    group: str = option("toy_group", help="group folder")
    name: str = option("toy", help="run name")


@attrs.frozen
class TrainerSection:
    max_iter: int = option(6, help="iterations")
    seed: int = option(7, help="seed")


@attrs.frozen
class CheckpointSection:
    save_iter: int = option(2, help="save every N iterations")


@attrs.frozen
class ModelParallel:
    tensor_model_parallel_size: int = option(1, help="tensor-parallel size")


@attrs.frozen
class ToyExperiment:
    job: Job = option(help="job", factory=Job)
    trainer: TrainerSection = option(help="trainer", factory=TrainerSection)
    checkpoint: CheckpointSection = option(help="checkpoints", factory=CheckpointSection)
    model_parallel: ModelParallel = option(help="parallelism", factory=ModelParallel)
    width: int = option(8, help="input width")
    hidden: int = option(16, help="hidden width (split over TP ranks)")
    lr: float = option(0.05, help="learning rate")
    samples: int = option(32, help="dataset size")
    batch_size: int = option(4, help="batch size")
    workers: int = option(0, help="loader workers")
    stop_at_iteration: int = option(0, help="send the job SIGTERM after this iteration (0: never)")


class Runtime:
    config_file = "config.yaml"

    def run_dir(self, config: ToyExperiment, action: str) -> Path:
        job = config.job
        return Path(os.environ.get("OUTPUT_ROOT", "checkpoints")) / job.project / job.group / job.name

    def devices(self, config: ToyExperiment, action: str) -> DeviceRequest:
        return DeviceRequest(0)

    def parallel(self, config: ToyExperiment, action: str) -> ParallelDims:
        tp = config.model_parallel.tensor_model_parallel_size
        return ParallelDims(tp=tp, sources={"tp": "model_parallel.tensor_model_parallel_size"})


RUNTIME = Runtime()


class Experiments:
    def names(self) -> list[str]:
        return ["toy_tp1", "toy_tp2"]

    def get(self, name: str) -> dict:
        return {"job": {"name": name}, "model_parallel": {"tensor_model_parallel_size": int(name[-1])}}


EXPERIMENTS = Experiments()


class PairData(torch.utils.data.Dataset):
    """``y = x @ A``; ``__getitem__`` adds numpy noise (per-sample seeded by the loop)."""

    def __init__(self, size: int, width: int) -> None:
        generator = torch.Generator().manual_seed(3)
        self.x = torch.randn(size, width, generator=generator)
        self.y = self.x @ torch.randn(width, width, generator=generator)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        import numpy as np

        jitter = torch.tensor(np.random.normal(0.0, 0.01, self.x.shape[1]), dtype=torch.float32)
        return {"x": self.x[index] + jitter, "y": self.y[index], "index": torch.tensor(index)}


class ToyMLP(nn.Module):
    """``layer1`` column-parallel, ``layer2`` row-parallel, ``scale`` replicated."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.layer1 = nn.Linear(width, hidden, bias=False)
        self.layer2 = nn.Linear(hidden, width, bias=False)
        self.scale = nn.Parameter(torch.ones(width))
        self.seen: dict = {}

    def parallelize(self, dist) -> nn.Module:
        if dist.tp_size > 1:
            from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

            parallelize_module(self, dist.mesh["tp"], {"layer1": ColwiseParallel(), "layer2": RowwiseParallel()})
        return self

    def init_weights(self) -> None:
        """Whole tensors from the (seeded) global RNG, then each rank keeps its shard."""
        from torch.distributed.tensor import DTensor, distribute_tensor

        for param in self.parameters():
            full = torch.randn(param.shape) * 0.3 if param.dim() > 1 else torch.ones(param.shape)
            if isinstance(param, DTensor):
                full = distribute_tensor(full, param.device_mesh, param.placements)
            param.copy_(full)

    def forward(self, batch: dict) -> dict:
        noise = 0.01 * torch.randn_like(batch["y"])  # every rank of a TP group must draw the same
        out = self.layer2(torch.tanh(self.layer1(batch["x"]))) * self.scale
        self.seen = {"indices": batch["index"].tolist(), "noise": float(noise.sum())}
        return {"mse": ((out - batch["y"] - noise) ** 2).mean()}


class Records(Callback):
    """Appends what this rank saw each iteration to ``records/rank<R>.jsonl``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.values: dict = {}

    def on_log(self, trainer, iteration, values):
        self.values.update(values)

    def on_train_step_end(self, trainer, iteration, losses):
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"iteration": iteration, **trainer.module.seen, "losses": losses, **self.values}
        with open(self.folder / f"rank{trainer.dist.rank}.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        self.values = {}


class StopAt(Callback):
    """After ``iteration``, rank 0 sends SIGTERM and waits until its own handler has it, so the stop
    lands on that boundary (torchrun forwards the signal asynchronously)."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def on_train_step_end(self, trainer, iteration, losses):
        if iteration != self.iteration or not trainer.is_main:
            return
        os.kill(os.getppid() if under_torchrun() else os.getpid(), signal.SIGTERM)
        handler = signals.active()
        for _ in range(6000):
            if handler.requested:
                return
            time.sleep(0.01)


def train(config: ToyExperiment, ctx) -> int:
    with ctx.open_run(config) as run:
        with torch.device("meta"):
            module = ToyMLP(config.width, config.hidden)
        settings = LoopSettings(
            max_iter=config.trainer.max_iter,
            checkpoint_every=config.checkpoint.save_iter,
            seed=config.trainer.seed,
            auto_resume=True,
            optimizer=OptimizerSettings(name="adamw", lr=config.lr, weight_decay=0.01),
            sources={"max_iter": "trainer.max_iter", "checkpoint_every": "checkpoint.save_iter"},
        )
        callbacks = [GradNormMonitor(every_n=1), Records(run.folder / "records")]
        if config.stop_at_iteration:
            callbacks.append(StopAt(config.stop_at_iteration))
        trainer = Trainer(
            module=module,
            settings=settings,
            dist=run.dist,
            train_dataset=PairData(config.samples, config.width),
            train_loader=LoaderSettings(batch_size=config.batch_size, workers=config.workers),
            checkpointer=ShardedCheckpointer(run.folder / "checkpoints"),
            output_dir=run.folder,
            checkpoint_metadata={"family": "toy-tp"},
            callbacks=callbacks,
        )
        result = trainer.fit()
        run.summary(f"toy training done at iteration {result.iteration}: {result.checkpoint}")
    return 0


@hookimpl
def cosmos_register_tasks(registry) -> None:
    registry.add(
        "toy-tp",
        ModelFamily(
            name="toy-tp",
            config_class=ToyExperiment,
            actions={"train": Action(f"{__name__}:train", "train the toy MLP")},
            description="A tensor-parallel toy family (tests only).",
            runtime=f"{__name__}:RUNTIME",
            experiments=f"{__name__}:EXPERIMENTS",
        ),
        help="tensor-parallel toy family for the core's tests",
    )
