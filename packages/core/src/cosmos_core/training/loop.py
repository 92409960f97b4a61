"""The generic training loop shared by every model family.

The loop knows nothing about videos or diffusion. A family hands it a training module whose
``forward(batch)`` returns a dict of named, already-weighted scalar losses (their sum is optimised),
datasets whose loaders yield dict batches, and callbacks. The loop owns device placement, precision,
the optimizer and LR schedule, gradient accumulation, validation, checkpoints and resume.

Logging goes to the ``cosmos`` logger; call :func:`cosmos_core.training.logs.setup_run_logging`
before :meth:`Trainer.fit` to get ``console.log`` and ``debug.log``.

A family's module may also define

- ``optimizer_param_groups(weight_decay) -> list[dict]`` to choose its parameter groups
  (:func:`cosmos_core.training.optim.parameter_groups`),
- ``state_dict()`` / ``load_state_dict()`` overrides to choose what a checkpoint holds,
- a ``train(mode)`` override to keep frozen parts in eval mode.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import nn
from torch.utils.data import Dataset

from cosmos_core.config.common import TrainConfig
from cosmos_core.config.loader import ConfigError
from cosmos_core.distributed import DistInfo, gather_objects, get_rank, get_world_size, reduce_sum_, wrap_ddp
from cosmos_core.distributed import barrier as dist_barrier
from cosmos_core.training.batches import LoaderSettings, batch_rows, make_loader, move_to_device
from cosmos_core.training.callbacks import Callback, CallbackList
from cosmos_core.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    atomic_save,
    iteration_path,
    latest_path,
    load_checkpoint,
    save_checkpoint,
)
from cosmos_core.training.config_checks import validate_train_config
from cosmos_core.training.optim import build_optimizer, build_scheduler
from cosmos_core.training.precision import resolve_precision
from cosmos_core.training.rng import capture_rng_state, restore_rng_state, seed_everything
from cosmos_core.training.sampler import ResumableSampler

logger = logging.getLogger("cosmos.train")

Batch = dict[str, Any]
ValidateFn = Callable[[nn.Module, Batch], Mapping[str, float]]


@attrs.frozen
class TrainResult:
    """Where a finished run ended."""

    iteration: int
    checkpoint: Path
    """``<prefix>_<iteration>.pth`` of the final iteration."""
    latest: Path
    """``<prefix>_latest.pth`` (the same weights)."""


def default_validate(module: nn.Module, batch: Batch) -> dict[str, float]:
    """The module's own losses on ``batch`` (the loop calls this in eval mode, without gradients)."""
    return {name: float(value) for name, value in module(batch).items()}


class Trainer:
    """Runs ``train.max_iter`` optimizer steps of ``module`` on ``train_dataset``.

    Public state callbacks may read: ``module`` (unwrapped), ``model`` (what forward runs on; DDP
    in multi-process runs), ``optimizer``, ``scheduler``, ``precision``, ``config``, ``iteration``
    (completed steps), ``max_iter``, ``samples_per_iteration``, ``rank``, ``world_size``,
    ``is_main``, ``device``, ``output_dir``, ``skipped``.
    """

    def __init__(
        self,
        *,
        module: nn.Module,
        train_config: TrainConfig,
        train_dataset: Dataset[Any],
        train_loader: LoaderSettings,
        output_dir: Path,
        checkpoint_prefix: str,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        val_dataset: Dataset[Any] | None = None,
        val_loader: LoaderSettings | None = None,
        checkpoint_metadata: Mapping[str, Any] | None = None,
        callbacks: Sequence[Callback] = (),
        validate_fn: ValidateFn | None = None,
        device: torch.device | str = "cpu",
        parallelize: Callable[[nn.Module], nn.Module] | None = None,
    ) -> None:
        """
        :param module: ``forward(batch) -> dict[str, Tensor]`` of named, weighted scalar losses.
        :param train_config: the ``train`` section; checked with :func:`validate_train_config`.
        :param train_dataset: map-style dataset of samples; ``collate_fn`` turns a list of them into a
            dict batch. A batch with 0 rows is skipped; its ``skipped`` list (dicts with ``path`` and
            ``reason``) is collected in :attr:`skipped`.
        :param train_loader: batch size (per rank), workers, drop_last, prefetch, pinning.
        :param output_dir: ``<results_dir>/train``: checkpoints go here.
        :param checkpoint_prefix: file names are ``<prefix>_<iteration>.pth`` and ``<prefix>_latest.pth``.
        :param val_dataset: validation data, used every ``train.validation_iter`` iterations
            (given together with ``val_loader``).
        :param checkpoint_metadata: plain data (dict, list, str, number, bool, None) stored in every
            checkpoint under ``metadata``.
        :param callbacks: :class:`Callback` objects, called in this order.
        :param validate_fn: ``fn(module, batch) -> {metric: float}``, averaged over validation
            batches and ranks; default :func:`default_validate`.
        :param device: where the module and batches go.
        :param parallelize: wraps the module for data-parallel training; default DDP when a process
            group with more than one rank is active (:func:`cosmos_core.distributed.wrap_ddp`).
        """
        problems = validate_train_config(train_config)
        if problems:
            raise ConfigError(problems)
        if (val_dataset is None) != (val_loader is None):
            raise ValueError("val_dataset and val_loader must be given together")
        self.config = train_config
        self.max_iter = train_config.max_iter
        self.device = torch.device(device)
        self.output_dir = Path(output_dir)
        self.prefix = checkpoint_prefix
        self.metadata = dict(checkpoint_metadata or {})
        _check_plain_data(self.metadata, "checkpoint_metadata")
        self.callbacks = CallbackList(callbacks)
        self.validate_fn = validate_fn or default_validate
        self.rank, self.world_size = get_rank(), get_world_size()
        self.is_main = self.rank == 0
        self.iteration = 0
        self.skipped: list[dict[str, Any]] = []
        self._skipped_seen: set[tuple[str, str]] = set()
        self._last_lr: float | None = None
        self._saved_iteration = -1

        self.module = module.to(self.device)
        self.precision = resolve_precision(train_config.precision, self.device)
        self.optimizer = build_optimizer(self.module, train_config.optim)
        self.scheduler = build_scheduler(self.optimizer, train_config.optim)

        self.train_settings = train_loader
        self.train_sampler = ResumableSampler(
            len(train_dataset),  # type: ignore[arg-type]
            num_replicas=self.world_size,
            rank=self.rank,
            seed=train_config.seed,
            shuffle=True,
            drop_last=train_loader.drop_last,
        )
        _check_has_batches(self.train_sampler, train_loader)
        self._loader_generator = torch.Generator()
        self.train_loader = make_loader(
            train_dataset,
            train_loader,
            sampler=self.train_sampler,
            collate_fn=collate_fn,
            device=self.device,
            generator=self._loader_generator,
        )
        self._train_iter: Iterator[Any] | None = None
        self._pass_started_at = 0
        self._nonempty_this_pass = 0
        self._data_state = self.train_sampler.state_dict()

        self.val_loader = None
        if val_dataset is not None and val_loader is not None:
            val_sampler = ResumableSampler(
                len(val_dataset),  # type: ignore[arg-type]
                num_replicas=self.world_size,
                rank=self.rank,
                shuffle=False,
            )
            self.val_loader = make_loader(
                val_dataset, val_loader, sampler=val_sampler, collate_fn=collate_fn, device=self.device
            )

        self.samples_per_iteration = train_loader.batch_size * train_config.grad_accum_steps * self.world_size
        info = DistInfo(self.rank, self.world_size, int(os.environ.get("LOCAL_RANK", "0")), self.device)
        self.model = (parallelize or (lambda m: wrap_ddp(m, info)))(self.module)

    # ---------------------------------------------------------------------------------------------
    # The run
    # ---------------------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to ``train.max_iter`` (continuing a checkpoint if configured) and save the result.

        A KeyboardInterrupt saves ``<prefix>_latest.pth`` (rank 0) before it propagates.
        """
        seed_everything(self.config.seed + self.rank)
        if self.config.resume_training_checkpoint_path:
            self.resume(self.config.resume_training_checkpoint_path)
        self.model.train()
        self._log_start()
        try:
            self.callbacks.on_train_start(self)
            while self.iteration < self.max_iter:
                losses = self._train_iteration()
                values = {f"train/{name}": value for name, value in losses.items()}
                self.log_values({**values, "train/lr": self.current_lr()})
                self.callbacks.on_train_step_end(self, self.iteration, losses)
                if self.val_loader is not None and self.iteration % self.config.validation_iter == 0:
                    self.validate()
                if self.iteration % self.config.checkpoint_iter == 0:
                    self.save_checkpoint()
            if self._saved_iteration != self.iteration:
                self.save_checkpoint()
            self.callbacks.on_train_end(self)
        except KeyboardInterrupt as exc:
            self._save_latest_on_interrupt()
            self.callbacks.on_exception(self, exc)
            raise
        except Exception as exc:
            self.callbacks.on_exception(self, exc)
            raise
        if self.is_main:
            logger.info("training finished at iteration %d; checkpoints in %s", self.iteration, self.output_dir)
        return TrainResult(
            iteration=self.iteration,
            checkpoint=iteration_path(self.output_dir, self.prefix, self.iteration),
            latest=latest_path(self.output_dir, self.prefix),
        )

    def _train_iteration(self) -> dict[str, float]:
        """One optimizer step over ``grad_accum_steps`` micro-batches; returns the mean losses."""
        accum = self.config.grad_accum_steps
        sums: dict[str, torch.Tensor] = {}
        for micro in range(accum):
            batch = self._next_train_batch()
            with self._gradient_sync(micro == accum - 1), self.precision.autocast():
                losses = self.model(batch)
            total = _total_loss(losses)
            self.precision.scaler.scale(total / accum).backward()
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value.detach().float()
        means = dict(zip(sums, (torch.stack(list(sums.values())) / accum).tolist(), strict=True))
        if not all(math.isfinite(value) for value in means.values()):
            raise FloatingPointError(
                f"non-finite loss at iteration {self.iteration + 1}: {means}. The last saved checkpoint "
                "is intact; try a lower train.optim.lr, gradient clipping, or train.precision=fp32."
            )
        with _interrupts_deferred():  # an update is applied completely or not at all
            self._optimizer_step()
            self.iteration += 1
            self._data_state = self.train_sampler.state_dict()
        return means

    def _optimizer_step(self) -> None:
        scaler = self.precision.scaler
        scaler.unscale_(self.optimizer)  # callbacks see true gradients (no-op unless fp16)
        self.callbacks.on_before_optimizer_step(self, self.iteration + 1)
        if self.config.clip_grad_norm > 0:
            params = [p for p in self.module.parameters() if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, self.config.clip_grad_norm)
        self._last_lr = float(self.optimizer.param_groups[0]["lr"])
        scaler.step(self.optimizer)
        scaler.update()
        with warnings.catch_warnings():
            # fp16: the scaler skips steps whose gradients overflowed, which PyTorch mistakes for a
            # wrong call order; the order here is right.
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _gradient_sync(self, sync: bool) -> contextlib.AbstractContextManager[Any]:
        """DDP's ``no_sync`` for micro-batches before the last one of an accumulation."""
        no_sync = getattr(self.model, "no_sync", None)
        return contextlib.nullcontext() if sync or no_sync is None else no_sync()

    def current_lr(self) -> float:
        """The learning rate (first parameter group) of the latest optimizer step."""
        return self._last_lr if self._last_lr is not None else float(self.optimizer.param_groups[0]["lr"])

    def log_values(self, values: Mapping[str, float]) -> None:
        """Publish scalars for the current iteration to every callback's ``on_log`` (W&B and co.)."""
        self.callbacks.on_log(self, self.iteration, dict(values))

    # ---------------------------------------------------------------------------------------------
    # Data
    # ---------------------------------------------------------------------------------------------

    def _next_train_batch(self) -> Batch:
        """The next non-empty batch on the device, moving on to the next epoch when one ends."""
        while True:
            if self._train_iter is None:
                sampler = self.train_sampler
                self._pass_started_at = sampler.position
                self._nonempty_this_pass = 0
                self._loader_generator.manual_seed(self.config.seed + 1_000_003 * sampler.epoch + self.rank)
                self._train_iter = iter(self.train_loader)
            try:
                batch = next(self._train_iter)
            except StopIteration:
                self._train_iter = None
                if self._pass_started_at == 0 and self._nonempty_this_pass == 0:
                    raise RuntimeError(
                        f"every training sample of epoch {self.train_sampler.epoch} was skipped; "
                        f"first reasons: {self.skipped[:3]}"
                    ) from None
                self.train_sampler.set_epoch(self.train_sampler.epoch + 1)
                continue
            self.train_sampler.advance(self.train_settings.batch_size)
            batch = self._collect_skipped(batch)
            if self._rows_on_every_rank(batch) == 0:
                logger.debug("skipping an empty training batch (all of its samples were skipped)")
                continue
            self._nonempty_this_pass += 1
            return move_to_device(batch, self.device)

    def _collect_skipped(self, batch: Batch) -> Batch:
        for entry in batch.pop("skipped", None) or ():
            key = (str(entry.get("path")), str(entry.get("reason")))
            if key not in self._skipped_seen:
                self._skipped_seen.add(key)
                self.skipped.append(dict(entry))
        return batch

    def _rows_on_every_rank(self, batch: Batch) -> int:
        """The smallest batch size over ranks, so all ranks skip a batch together (or none does)."""
        rows = batch_rows(batch)
        rows = 1 if rows is None else rows
        if self.world_size == 1:
            return rows
        count = torch.tensor([rows], device=self.device)
        torch.distributed.all_reduce(count, op=torch.distributed.ReduceOp.MIN)
        return int(count.item())

    # ---------------------------------------------------------------------------------------------
    # Validation
    # ---------------------------------------------------------------------------------------------

    def validate(self) -> dict[str, float]:
        """Run ``validate_fn`` over the validation set (up to ``max_val_batches`` per rank).

        Metrics are averaged over batches and ranks, logged, published as ``val/<name>`` and passed
        to ``on_validation_end``.
        """
        if self.val_loader is None:
            raise RuntimeError("no validation dataset was given to the Trainer")
        limit = self.config.max_val_batches
        sums: dict[str, float] = {}
        count = 0
        self.module.eval()
        try:
            with torch.no_grad():
                for index, batch in enumerate(self.val_loader):
                    if limit is not None and index >= limit:
                        break
                    batch = self._collect_skipped(batch)
                    if self._rows_on_every_rank(batch) == 0:
                        continue
                    with self.precision.autocast():
                        metrics = self.validate_fn(self.module, move_to_device(batch, self.device))
                    for name, value in metrics.items():
                        sums[name] = sums.get(name, 0.0) + float(value)
                    count += 1
        finally:
            self.module.train()
        names = sorted(sums)
        values = [*(sums[name] for name in names), count]
        totals = torch.tensor(values, dtype=torch.float64, device=self.device)
        reduce_sum_(totals)
        batches = float(totals[-1])
        metrics = {name: float(totals[i]) / batches for i, name in enumerate(names)} if batches else {}
        if self.is_main:
            if metrics:
                shown = " | ".join(f"{name} {value:.4f}" for name, value in metrics.items())
                logger.info("validation at iter %d (%d batches): %s", self.iteration, int(batches), shown)
            else:
                logger.warning("validation at iter %d had no usable batches", self.iteration)
        self.log_values({f"val/{name}": value for name, value in metrics.items()})
        self.callbacks.on_validation_end(self, self.iteration, metrics)
        return metrics

    # ---------------------------------------------------------------------------------------------
    # Checkpoints
    # ---------------------------------------------------------------------------------------------

    def _payload(self, rng_states: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.precision.scaler.state_dict(),
            "iteration": self.iteration,
            "rng": rng_states,
            "data": dict(self._data_state),
            "metadata": self.metadata,
        }

    def save_checkpoint(self) -> Path:
        """Write ``<prefix>_<iteration>.pth`` and ``<prefix>_latest.pth`` (rank 0; all ranks must call)."""
        rng_states = gather_objects(capture_rng_state())
        path = iteration_path(self.output_dir, self.prefix, self.iteration)
        if self.is_main:
            save_checkpoint(self._payload(rng_states), self.output_dir, self.prefix)
            logger.info("saved checkpoint %s", path)
        dist_barrier()
        self._saved_iteration = self.iteration
        self.callbacks.on_save_checkpoint(self, self.iteration, path)
        return path

    def _save_latest_on_interrupt(self) -> None:
        """Keep the last completed iteration when the user stops the run (no collectives here)."""
        if not self.is_main or self._saved_iteration == self.iteration:
            return
        path = atomic_save(self._payload([capture_rng_state()]), latest_path(self.output_dir, self.prefix))
        self._saved_iteration = self.iteration
        logger.warning("interrupted: saved iteration %d to %s", self.iteration, path)

    def resume(self, path: str | os.PathLike[str]) -> None:
        """Restore model, optimizer, scheduler, scaler, iteration, RNG and data position from ``path``."""
        payload = load_checkpoint(path)  # on the CPU: RNG states must stay CPU tensors
        try:
            self.module.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(
                f"checkpoint {path} does not fit this model and optimizer "
                f"(was it written for a different model config?): {str(err).strip().splitlines()[0]}"
            ) from None
        self.scheduler.load_state_dict(payload["scheduler"])
        if payload["scaler"] and self.precision.scaler.is_enabled():
            self.precision.scaler.load_state_dict(payload["scaler"])
        self.iteration = int(payload["iteration"])
        self.train_sampler.load_state_dict(payload["data"])
        self._data_state = self.train_sampler.state_dict()
        self._train_iter = None
        rng_states = payload["rng"]
        if self.rank < len(rng_states):
            restore_rng_state(rng_states[self.rank])
        else:
            logger.warning("checkpoint %s has no RNG state for rank %d; reseeding it", path, self.rank)
            seed_everything(self.config.seed + self.rank + self.iteration)
        if self.is_main:
            logger.info("resumed from %s at iteration %d", path, self.iteration)

    def _log_start(self) -> None:
        if not self.is_main:
            return
        trainable = sum(p.numel() for p in self.module.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.module.parameters())
        logger.info(
            "training %s: %s of %s parameters trainable; %s on %s x%d; %d samples/iteration; iterations %d -> %d",
            self.prefix,
            f"{trainable:,}",
            f"{total:,}",
            self.precision.name,
            self.device,
            self.world_size,
            self.samples_per_iteration,
            self.iteration,
            self.max_iter,
        )


def _total_loss(losses: Any) -> torch.Tensor:
    if not isinstance(losses, Mapping) or not losses:
        raise TypeError(
            f"the training module's forward must return a non-empty dict of scalar loss tensors, got {losses!r}"
        )
    for name, value in losses.items():
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise TypeError(f"loss {name!r} must be a scalar tensor, got {value!r}")
    return sum(losses.values())  # type: ignore[return-value]


def _check_has_batches(sampler: ResumableSampler, settings: LoaderSettings) -> None:
    if sampler.shard_size < (settings.batch_size if settings.drop_last else 1):
        raise ConfigError(
            [
                f"the training dataset has {sampler.dataset_size} samples for {sampler.num_replicas} rank(s), "
                f"fewer than one batch of {settings.batch_size} per rank with drop_last; lower the "
                "training batch_size, set drop_last=false, or add data"
            ]
        )


_PLAIN = (str, int, float, bool, type(None))


def _check_plain_data(value: Any, where: str) -> None:
    """Reject what ``torch.load(weights_only=True)`` could not read back (so a save never succeeds
    with a file that later fails to load)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key {key!r}; keys must be strings or integers")
            _check_plain_data(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain_data(item, f"{where}[{index}]")
    elif not isinstance(value, (*_PLAIN, torch.Tensor)):
        raise TypeError(
            f"{where} is a {type(value).__name__}; checkpoints hold only plain data "
            "(dict, list, str, int, float, bool, None, tensors)"
        )


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, so a checkpoint never captures a half-applied update."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield  # only the main thread may set handlers; None: a handler installed outside Python
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received and callable(previous):
        previous(signal.SIGINT, None)
