"""A tiny regression problem for exercising the training loop on CPU in milliseconds."""

from __future__ import annotations

from types import SimpleNamespace

import attrs
import numpy as np
import pytest
import torch
from cosmos_core.distributed import current_dist
from cosmos_core.training import (
    Callback,
    LoaderSettings,
    LoopSettings,
    OptimizerSettings,
    ScheduleSettings,
    SingleFileCheckpointer,
    Trainer,
)
from torch import nn


class ToyDataset(torch.utils.data.Dataset):
    """``x`` in R^4, ``y`` a noisy linear function; ``__getitem__`` draws numpy noise on purpose, so
    resume tests also check that the numpy RNG state is restored."""

    def __init__(self, size: int = 24, empty_indices: tuple[int, ...] = ()) -> None:
        generator = torch.Generator().manual_seed(7)
        self.x = torch.randn(size, 4, generator=generator)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(size, generator=generator)
        self.empty_indices = set(empty_indices)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        if index in self.empty_indices:
            return {"skipped": {"path": f"video_{index}.mp4", "reason": "cannot decode"}}
        jitter = float(np.random.normal(0.0, 0.01))
        return {"x": self.x[index] + jitter, "y": self.y[index], "index": index}


def collate(items: list[dict]) -> dict:
    kept = [item for item in items if "skipped" not in item]
    batch = {
        "x": torch.stack([item["x"] for item in kept]) if kept else torch.zeros(0, 4),
        "y": torch.stack([item["y"] for item in kept]) if kept else torch.zeros(0),
        "index": [item["index"] for item in kept],
    }
    skipped = [item["skipped"] for item in items if "skipped" in item]
    if skipped:
        batch["skipped"] = skipped
    return batch


class ToyBatches:
    """The toy's batch format: rows are ``x``'s, skipped samples come under ``skipped``."""

    def rows(self, batch: dict) -> int:
        return int(batch["x"].shape[0])

    def pop_skipped(self, batch: dict) -> list[dict]:
        return batch.pop("skipped", [])


class ToyModule(nn.Module):
    """Two named losses; the forward draws torch noise, so torch RNG restoration matters too."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 8)
        self.head = nn.Linear(8, 1)
        self.forward_calls = 0
        self.batch_sizes: list[int] = []

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        self.forward_calls += 1
        self.batch_sizes.append(batch["x"].shape[0])
        hidden = torch.tanh(self.linear(batch["x"]))
        hidden = hidden + 0.01 * torch.randn_like(hidden)
        pred = self.head(hidden).squeeze(-1)
        return {"mse": ((pred - batch["y"]) ** 2).mean(), "weight_reg": 1e-3 * self.head.weight.pow(2).sum()}


class Recorder(Callback):
    """Records every event as ``(event, iteration, payload)``."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_train_start(self, trainer) -> None:
        self.events.append(("train_start", trainer.iteration, None))

    def on_before_optimizer_step(self, trainer, iteration) -> None:
        self.events.append(("before_step", iteration, None))

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        self.events.append(("step_end", iteration, dict(losses)))

    def on_log(self, trainer, iteration, values) -> None:
        self.events.append(("log", iteration, dict(values)))

    def on_validation_end(self, trainer, iteration, metrics) -> None:
        self.events.append(("validation_end", iteration, dict(metrics)))

    def on_save_checkpoint(self, trainer, iteration, path) -> None:
        self.events.append(("save", iteration, path))

    def on_train_end(self, trainer) -> None:
        self.events.append(("train_end", trainer.iteration, None))

    def on_exception(self, trainer, exc) -> None:
        self.events.append(("exception", trainer.iteration, exc))

    def losses(self) -> list[dict]:
        return [payload for event, _, payload in self.events if event == "step_end"]

    def of(self, event: str) -> list[tuple]:
        return [(iteration, payload) for name, iteration, payload in self.events if name == event]


def make_settings(**overrides) -> LoopSettings:
    optimizer = OptimizerSettings(**{"lr": 0.01, "weight_decay": 1e-5, **overrides.pop("optimizer", {})})
    schedule = ScheduleSettings(
        **{"warmup_steps": 2, "policy": "cosine", "decay_steps": 40, **overrides.pop("schedule", {})}
    )
    base = LoopSettings(
        max_iter=6,
        checkpoint_every=3,
        validation_every=1000,
        seed=1234,
        precision="fp32",
        optimizer=optimizer,
        schedule=schedule,
    )
    return attrs.evolve(base, **overrides)


@pytest.fixture
def toy_trainer(tmp_path):
    """``toy_trainer(**train_overrides, batch_size=4, ...)`` builds a Trainer on the toy problem."""

    def build(
        *,
        batch_size: int = 4,
        dataset: ToyDataset | None = None,
        val: bool = False,
        callbacks=(),
        output_dir=None,
        module: nn.Module | None = None,
        device: str = "cpu",
        workers: int = 0,
        **train_overrides,
    ) -> Trainer:
        torch.manual_seed(0)
        return Trainer(
            module=module or ToyModule(),
            settings=make_settings(**train_overrides),
            train_dataset=dataset or ToyDataset(),
            train_loader=LoaderSettings(batch_size=batch_size, workers=workers),
            collate_fn=collate,
            batch_format=ToyBatches(),
            val_dataset=ToyDataset(size=10) if val else None,
            val_loader=LoaderSettings(batch_size=4, drop_last=False) if val else None,
            checkpointer=SingleFileCheckpointer(output_dir or tmp_path / "train", "toy_model"),
            checkpoint_metadata={"family": "toy", "model": {"width": 8}},
            callbacks=list(callbacks),
            dist=current_dist(device),
        )

    return build


@pytest.fixture
def toys():
    """The toy classes and helpers of this folder (conftest modules cannot be imported by tests)."""
    return SimpleNamespace(
        ToyDataset=ToyDataset,
        ToyModule=ToyModule,
        Recorder=Recorder,
        collate=collate,
        make_settings=make_settings,
        ToyBatches=ToyBatches,
    )
