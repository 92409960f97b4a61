"""The generic training loop shared by every model family.

The loop knows nothing about videos or diffusion. A family hands it a training module whose
``forward(batch)`` returns a dict of named, already-weighted scalar losses (their sum is optimised),
datasets whose loaders yield batches (a :class:`~cosmos_core.training.batches.BatchFormat` says how
many rows each has and which samples were skipped), :class:`LoopSettings` mapped from its own
schema, a :class:`~cosmos_core.training.checkpoint.Checkpointer`, and callbacks. The loop owns
placement on the device mesh, precision, the optimizer and LR schedule, gradient accumulation and
clipping, validation, checkpoints, resume and clean stops.

Set-up follows torchtitan's order: the module (possibly built on the meta device) parallelizes itself
on the mesh, is then materialised, and only then is the optimizer built over its (sharded)
parameters. A family's module may define

- ``parallelize(dist) -> nn.Module``: apply tensor parallelism (DTensor) and/or FSDP2
  ``fully_shard`` on ``dist.mesh`` and return what forward runs on (without it the loop wraps the
  module in DDP over the data-parallel ranks, and tensor or sharded data parallelism is refused);
- ``init_weights()``: fill a module built on the meta device, after ``to_empty`` on the device
  (called under the run's seed, identically on every rank);
- ``optimizer_param_groups(weight_decay) -> list[dict]`` to choose its parameter groups
  (:func:`cosmos_core.training.optim.parameter_groups`);
- ``state_dict()`` / ``load_state_dict()`` overrides to choose what a checkpoint holds;
- a ``train(mode)`` override to keep frozen parts in eval mode.

Data sharding, sampling and seeds follow the data-parallel rank, so the ranks of one tensor-parallel
group see the same batches and draw the same noise. Logging goes to the ``cosmos`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import nn
from torch.utils.data import Dataset

from cosmos_core.config.loader import ConfigError
from cosmos_core.distributed import DistInfo, current_dist, reduce_sum_, wrap_ddp
from cosmos_core.errors import UserInputError
from cosmos_core.signals import Interrupted, StopHandler, handling_stop_signals
from cosmos_core.training.batches import (
    BatchFormat,
    FirstTensorRows,
    LoaderSettings,
    SeededSamples,
    make_loader,
    move_to_device,
)
from cosmos_core.training.callbacks import Callback, CallbackList
from cosmos_core.training.checkpoint import Checkpointer, CheckpointError, TrainingState
from cosmos_core.training.dtensor_state import restore_model_state, restore_optimizer_state
from cosmos_core.training.grad_norm import clip_grad_norm_
from cosmos_core.training.optim import build_optimizer, build_scheduler
from cosmos_core.training.precision import resolve_precision
from cosmos_core.training.rng import capture_rng_state, restore_rng_state, seed_everything
from cosmos_core.training.sampler import ResumableSampler
from cosmos_core.training.settings import LoopSettings

logger = logging.getLogger("cosmos.train")

Batch = Any
ValidateFn = Callable[[nn.Module, Batch], Mapping[str, float]]


class DataError(UserInputError, RuntimeError):
    """The training data cannot feed a run (every sample of an epoch was skipped, ...)."""


@attrs.frozen
class TrainResult:
    """Where a finished run ended."""

    iteration: int
    checkpoint: Path
    """The checkpoint of the final iteration (its main file)."""
    latest: Path | None
    """What the checkpointer reports as the latest checkpoint (the same iteration)."""


def default_validate(module: nn.Module, batch: Batch) -> dict[str, float]:
    """The module's own losses on ``batch`` (the loop calls this in eval mode, without gradients)."""
    return {name: float(value) for name, value in module(batch).items()}


class Trainer:
    """Runs ``settings.max_iter`` optimizer steps of ``module`` on ``train_dataset``.

    Callbacks see it as a :class:`~cosmos_core.training.callbacks.TrainerView`.
    """

    def __init__(
        self,
        *,
        module: nn.Module,
        settings: LoopSettings,
        train_dataset: Dataset[Any],
        train_loader: LoaderSettings,
        checkpointer: Checkpointer,
        output_dir: Path | None = None,
        dist: DistInfo | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        val_dataset: Dataset[Any] | None = None,
        val_loader: LoaderSettings | None = None,
        checkpoint_metadata: Mapping[str, Any] | None = None,
        callbacks: Sequence[Callback] = (),
        validate_fn: ValidateFn | None = None,
        batch_format: BatchFormat | None = None,
    ) -> None:
        """
        :param module: ``forward(batch) -> dict[str, Tensor]`` of named, weighted scalar losses.
        :param settings: the loop's settings; their problems are config errors (with the family's paths).
        :param train_dataset: map-style dataset; ``collate_fn`` turns a list of samples into a batch.
            A batch with 0 rows is skipped; its skipped samples (``batch_format.pop_skipped``) are
            collected in :attr:`skipped`.
        :param train_loader: batch size (per data-parallel rank), workers, drop_last, prefetch, pinning.
        :param checkpointer: where and how checkpoints are written and found.
        :param output_dir: the run's folder (callbacks write there; default: the checkpointer's).
        :param dist: this process's place in the job (default: the current process group, CPU).
        :param val_dataset: validation data, used every ``settings.validation_every`` iterations
            (given together with ``val_loader``).
        :param checkpoint_metadata: plain data (dict, list, str, number, bool, None) stored in every
            checkpoint under ``metadata``.
        :param callbacks: :class:`Callback` objects, called in this order.
        :param validate_fn: ``fn(module, batch) -> {metric: float}``, averaged over validation
            batches and ranks; default :func:`default_validate`.
        :param batch_format: reads rows and skipped samples of a batch (default: first tensor's rows).
        """
        problems = settings.problems()
        if problems:
            raise ConfigError(problems)
        if (val_dataset is None) != (val_loader is None):
            raise ValueError("val_dataset and val_loader must be given together")
        self.settings = settings
        self.max_iter = settings.max_iter
        self.dist = dist or current_dist()
        self.device = self.dist.device
        self.checkpointer = checkpointer
        self.output_dir = Path(output_dir if output_dir is not None else checkpointer.folder)
        self.metadata = dict(checkpoint_metadata or {})
        _check_plain_data(self.metadata, "checkpoint_metadata")
        self.callbacks = CallbackList(callbacks)
        self.validate_fn = validate_fn or default_validate
        self.batch_format = batch_format or FirstTensorRows()
        self.iteration = 0
        self.skipped: list[dict[str, Any]] = []
        self._skipped_seen: set[tuple[str, str]] = set()
        self._last_lr: float | None = None
        self._saved_iteration = -1
        self._saved_path: Path | None = None
        self._boundary_rng: dict[str, Any] | None = None
        self._stop_reason: str | None = None

        self.module = module
        self.model = self._place_module(module)
        self.precision = resolve_precision(settings.precision, self.device, settings.path("precision"))
        self.optimizer = build_optimizer(self.module, settings.optimizer)
        self.scheduler = build_scheduler(self.optimizer, settings.schedule)
        if self.model is None:
            self.model = wrap_ddp(self.module, self.dist)

        dp_rank, dp_size = self.dist.dp_rank, self.dist.dp_size
        self.train_settings = train_loader
        self.train_samples = SeededSamples(train_dataset, settings.seed)
        self.train_sampler = ResumableSampler(
            len(train_dataset),  # type: ignore[arg-type]
            num_replicas=dp_size,
            rank=dp_rank,
            seed=settings.seed,
            shuffle=True,
            drop_last=train_loader.drop_last,
        )
        _check_has_batches(self.train_sampler, train_loader)
        self._loader_generator = torch.Generator()
        self.train_loader = make_loader(
            self.train_samples,
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
                num_replicas=dp_size,
                rank=dp_rank,
                shuffle=False,
            )
            self.val_loader = make_loader(
                SeededSamples(val_dataset, settings.seed),
                val_loader,
                sampler=val_sampler,
                collate_fn=collate_fn,
                device=self.device,
            )
        self.samples_per_iteration = train_loader.batch_size * settings.grad_accum_steps * dp_size

    def _place_module(self, module: nn.Module) -> nn.Module | None:
        """Device, parallelism, materialisation — in that order. Returns what forward runs on, or None
        when the default (DDP over the data-parallel ranks) is to wrap it after the optimizer exists."""
        on_meta = any(t.is_meta for t in [*module.parameters(), *module.buffers()])
        if not on_meta:
            module.to(self.device)
        parallelize = getattr(module, "parallelize", None)
        model = None
        if callable(parallelize):
            model = parallelize(self.dist)
        elif self.dist.tp_size > 1 or self.dist.dims.dp_shard > 1:
            raise TypeError(
                f"{type(module).__name__} defines no parallelize(dist), so it cannot run with tensor parallelism "
                f"{self.dist.tp_size} or sharded data parallelism {self.dist.dims.dp_shard}"
            )
        if on_meta:
            init_weights = getattr(module, "init_weights", None)
            if not callable(init_weights):
                raise TypeError(f"{type(module).__name__} was built on the meta device but defines no init_weights()")
            module.to_empty(device=self.device)
            seed_everything(self.settings.seed)  # identical initial weights on every rank
            with torch.no_grad():
                init_weights()
        return model

    # ---------------------------------------------------------------------------------------------
    # What callbacks may use (TrainerView)
    # ---------------------------------------------------------------------------------------------

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    @property
    def rank(self) -> int:
        return self.dist.rank

    @property
    def world_size(self) -> int:
        return self.dist.world_size

    def named_trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(name, p) for name, p in self.module.named_parameters() if p.requires_grad]

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_trainable_parameters()]

    def clip_gradients(self, max_norm: float) -> float:
        return float(clip_grad_norm_(self.trainable_parameters(), max_norm))

    def current_lr(self) -> float:
        """The learning rate (first parameter group) of the latest optimizer step."""
        return self._last_lr if self._last_lr is not None else float(self.optimizer.param_groups[0]["lr"])

    def log_values(self, values: Mapping[str, float]) -> None:
        """Publish scalars for the current iteration to every callback's ``on_log`` (W&B and co.)."""
        self.callbacks.on_log(self, self.iteration, dict(values))

    # ---------------------------------------------------------------------------------------------
    # The run
    # ---------------------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to ``max_iter`` (continuing a checkpoint if configured) and save the result.

        A stop signal (SIGINT, SIGTERM, SIGHUP) ends the current iteration, saves a checkpoint of that
        boundary and raises :class:`~cosmos_core.signals.Interrupted`; any other interruption in the
        middle of an iteration saves the last boundary where the checkpointer can do so alone.
        """
        with handling_stop_signals() as stop:
            try:
                return self._fit(stop)
            finally:
                self.model = self.module  # drop the DDP wrapper: its reducer must not outlive the group

    def _fit(self, stop: StopHandler | None) -> TrainResult:
        seed_everything(self.settings.seed + self.dist.dp_rank)
        self.checkpointer.prepare(self.dist)
        resume_from = self.settings.resume_from or (self.settings.auto_resume and self.checkpointer.latest())
        if resume_from:
            self.resume(resume_from)
            if self.iteration >= self.max_iter:
                if self.is_main:
                    logger.info(
                        "%s is at iteration %d, at or past %s=%d: nothing to train (raise it to continue)",
                        resume_from,
                        self.iteration,
                        self.settings.path("max_iter"),
                        self.max_iter,
                    )
                return TrainResult(self.iteration, Path(resume_from), self.checkpointer.latest())
        self.model.train()
        self._log_start()
        try:
            self.callbacks.on_train_start(self)
            with stop.polling() if stop is not None else contextlib.nullcontext():
                while self.iteration < self.max_iter:
                    if self._stop_if_requested(stop):
                        break
                    self._boundary_rng = capture_rng_state()
                    losses = self._train_iteration(stop)
                    values = {f"train/{name}": value for name, value in losses.items()}
                    self.log_values({**values, "train/lr": self.current_lr()})
                    self.callbacks.on_train_step_end(self, self.iteration, losses)
                    if self.val_loader is not None and self.iteration % self.settings.validation_every == 0:
                        self.validate()
                    if self.iteration % self.settings.checkpoint_every == 0:
                        self.save_checkpoint()
            if self._saved_iteration != self.iteration:
                self.save_checkpoint()
            self.callbacks.on_train_end(self)
        except KeyboardInterrupt as exc:
            stopped = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
            if not stopped.note:
                stopped.note = self._save_without_peers()
            self.callbacks.on_exception(self, stopped)
            raise stopped from None
        except Exception as exc:
            self.callbacks.on_exception(self, exc)
            raise
        if self.is_main:
            logger.info(
                "training finished at iteration %d; checkpoints in %s", self.iteration, self.checkpointer.folder
            )
        return TrainResult(self.iteration, self._saved_path or self.checkpointer.folder, self.checkpointer.latest())

    def request_stop(self, reason: str) -> None:
        """Stop at the next iteration boundary with a checkpoint, as a stop signal would, but as a planned
        end: :meth:`fit` returns normally (a time limit, an iteration budget)."""
        self._stop_reason = reason

    def _stop_if_requested(self, stop: StopHandler | None) -> bool:
        """At an iteration boundary: if any rank received a stop signal (or asked to stop), all save here
        and stop. A signal raises :class:`Interrupted`; a request returns True."""
        flags = [(stop.requested or 0) if stop is not None else 0, int(self._stop_reason is not None)]
        if self.dist.is_distributed:  # every rank must stop at the same boundary
            tensor = torch.tensor(flags, device=self.device)
            torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MAX)
            flags = [int(value) for value in tensor.tolist()]
        signum, asked = flags
        if not (signum or asked):
            return False
        if self._saved_iteration != self.iteration:
            self.save_checkpoint()
        if signum:
            raise Interrupted(signum, self._resume_note())
        if self.is_main:
            logger.info(
                "stopping at iteration %d as requested (%s); %s", self.iteration, self._stop_reason, self._resume_note()
            )
        return True

    def _resume_note(self) -> str:
        where = self._saved_path or "(nothing saved)"
        return f"saved iteration {self._saved_iteration} to {where}; resume from it to continue exactly"

    def _train_iteration(self, stop: StopHandler | None) -> dict[str, float]:
        """One optimizer step over ``grad_accum_steps`` micro-batches; returns the mean losses."""
        accum = self.settings.grad_accum_steps
        sums: dict[str, torch.Tensor] = {}
        for micro in range(accum):
            batch = self._next_train_batch()
            with self._gradient_sync(micro == accum - 1), self.precision.autocast():
                losses = self.model(batch)
            total = _total_loss(losses)
            self.precision.scaler.scale(total / accum).backward()
            self.callbacks.on_after_backward(self, self.iteration + 1)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value.detach().float()
        means = dict(zip(sums, (torch.stack(list(sums.values())) / accum).tolist(), strict=True))
        if not all(math.isfinite(value) for value in means.values()):
            raise FloatingPointError(
                f"non-finite loss at iteration {self.iteration + 1}: {means}. The last saved checkpoint "
                "is intact; try a lower learning rate, gradient clipping, or fp32 precision."
            )
        with stop.critical() if stop is not None else contextlib.nullcontext():  # all of the update, or none
            self._optimizer_step()
            self.iteration += 1
            self._data_state = self.train_sampler.state_dict()
        return means

    def _optimizer_step(self) -> None:
        scaler = self.precision.scaler
        scaler.unscale_(self.optimizer)  # callbacks see true gradients (no-op unless fp16)
        self.callbacks.on_before_optimizer_step(self, self.iteration + 1)
        if self.settings.clip_grad_norm > 0:
            self.clip_gradients(self.settings.clip_grad_norm)
        self._last_lr = float(self.optimizer.param_groups[0]["lr"])
        scaler.step(self.optimizer)
        scaler.update()
        with _warnings_quieted():
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _gradient_sync(self, sync: bool) -> contextlib.AbstractContextManager[Any]:
        """DDP's ``no_sync`` for micro-batches before the last one of an accumulation."""
        no_sync = getattr(self.model, "no_sync", None)
        return contextlib.nullcontext() if sync or no_sync is None else no_sync()

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
                self.train_samples.set_epoch(sampler.epoch)
                self._loader_generator.manual_seed(self.settings.seed + 1_000_003 * sampler.epoch + self.dist.dp_rank)
                self._train_iter = iter(self.train_loader)
            try:
                batch = next(self._train_iter)
            except StopIteration:
                self._train_iter = None
                if self._pass_started_at == 0 and self._nonempty_this_pass == 0:
                    raise DataError(self._all_skipped_message()) from None
                self.train_sampler.set_epoch(self.train_sampler.epoch + 1)
                continue
            self.train_sampler.advance(self.train_settings.batch_size)
            self._collect_skipped(batch)
            if self._rows_on_every_rank(batch) == 0:
                logger.debug("skipping an empty training batch (all of its samples were skipped)")
                continue
            self._nonempty_this_pass += 1
            return move_to_device(batch, self.device)

    def _all_skipped_message(self) -> str:
        shown = "; ".join(f"{entry.get('path')}: {entry.get('reason')}" for entry in self.skipped[:5])
        more = f" (and {len(self.skipped) - 5} more)" if len(self.skipped) > 5 else ""
        return (
            f"every training sample of epoch {self.train_sampler.epoch} was skipped, so there is nothing to "
            f"train on: {len(self.skipped)} sample(s) failed: {shown or 'no reasons recorded'}{more}. Check the "
            "dataset's paths and that its videos decode"
        )

    def _collect_skipped(self, batch: Batch) -> None:
        for entry in self.batch_format.pop_skipped(batch) or ():
            key = (str(entry.get("path")), str(entry.get("reason")))
            if key not in self._skipped_seen:
                self._skipped_seen.add(key)
                self.skipped.append(dict(entry))

    def _rows_on_every_rank(self, batch: Batch) -> int:
        """The smallest batch size over ranks, so all ranks skip a batch together (or none does)."""
        rows = self.batch_format.rows(batch)
        if not self.dist.is_distributed:
            return rows
        count = torch.tensor([rows], device=self.device)
        torch.distributed.all_reduce(count, op=torch.distributed.ReduceOp.MIN)
        return int(count.item())

    # ---------------------------------------------------------------------------------------------
    # Validation
    # ---------------------------------------------------------------------------------------------

    def validate(self) -> dict[str, float]:
        """Run ``validate_fn`` over the validation set (up to ``max_val_batches`` per rank).

        Metrics are averaged over batches and data-parallel ranks, logged, published as
        ``val/<name>`` and passed to ``on_validation_end``.
        """
        if self.val_loader is None:
            raise RuntimeError("no validation dataset was given to the Trainer")
        limit = self.settings.max_val_batches
        sums: dict[str, float] = {}
        count = 0
        self.module.eval()
        try:
            with torch.no_grad():
                for index, batch in enumerate(self.val_loader):
                    if limit is not None and index >= limit:
                        break
                    self._collect_skipped(batch)
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
        totals = torch.tensor([*(sums[name] for name in names), count], dtype=torch.float64, device=self.device)
        reduce_sum_(totals, group=self.dist.dp_group)
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

    def _state(self, rng: dict[str, Any]) -> TrainingState:
        return TrainingState(
            iteration=self.iteration,
            model=self.module.state_dict(),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            scaler=self.precision.scaler.state_dict(),
            rng=[rng],
            data=dict(self._data_state),
            callbacks=self.callbacks.state_dict(),
            metadata=self.metadata,
        )

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current iteration (every rank must call)."""
        path = self.checkpointer.save(self._state(capture_rng_state()), self.dist)
        if self.is_main:
            logger.info("saved checkpoint %s", path)
        self._saved_iteration, self._saved_path = self.iteration, path
        self.callbacks.on_save_checkpoint(self, self.iteration, path)
        return path

    def _save_without_peers(self) -> str:
        """Keep the last completed iteration when a run is torn down mid-iteration (no collectives)."""
        if self._saved_iteration == self.iteration:
            return self._resume_note()
        rng = self._boundary_rng or capture_rng_state()
        path = self.checkpointer.save_without_peers(self._state(rng), self.dist)
        if path is None:
            if self.is_main:
                logger.warning(
                    "interrupted during iteration %d: this checkpoint layout needs every rank to save, so the "
                    "last saved checkpoint (iteration %d) stands",
                    self.iteration + 1,
                    self._saved_iteration,
                )
            return (
                f"iteration {self.iteration} was not saved; the last checkpoint is of iteration {self._saved_iteration}"
            )
        self._saved_iteration, self._saved_path = self.iteration, path
        logger.warning("interrupted: saved iteration %d to %s", self.iteration, path)
        return self._resume_note()

    def resume(self, path: str | Path) -> None:
        """Restore model, optimizer, scheduler, scaler, callbacks, iteration, RNG and data position."""
        state = self.checkpointer.load(Path(path), self.dist)
        keep = self.checkpointer.keep_sharded
        try:
            self.module.load_state_dict(restore_model_state(state.model, self.module.state_dict(), keep))
            self.optimizer.load_state_dict(restore_optimizer_state(state.optimizer, self.optimizer, keep))
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(
                f"checkpoint {path} does not fit this model and optimizer "
                f"(was it written for a different model config?): {str(err).strip().splitlines()[0]}"
            ) from None
        self.scheduler.load_state_dict(state.scheduler)
        if state.scaler and self.precision.scaler.is_enabled():
            self.precision.scaler.load_state_dict(state.scaler)
        self.callbacks.load_state_dict(state.callbacks)
        self.iteration = self._saved_iteration = int(state.iteration)
        self._saved_path = Path(path)
        self.train_sampler.load_state_dict(state.data)
        self._data_state = self.train_sampler.state_dict()
        self._train_iter = None
        if self.dist.rank < len(state.rng):
            restore_rng_state(state.rng[self.dist.rank])
        else:
            logger.warning("checkpoint %s has no RNG state for rank %d; reseeding it", path, self.dist.rank)
            seed_everything(self.settings.seed + self.dist.dp_rank + self.iteration)
        if self.is_main:
            logger.info("resumed from %s at iteration %d", path, self.iteration)

    def _log_start(self) -> None:
        trainable = sum(p.numel() for p in self.module.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.module.parameters())
        if not self.is_main:
            return
        dims = self.dist.dims
        layout = f"dp {dims.dp_replicate} x dp_shard {dims.dp_shard} x tp {dims.tp}" if self.dist.is_distributed else ""
        logger.info(
            "training %s: %s of %s parameters trainable (this rank); %s on %s x%d%s; %d samples/iteration; "
            "iterations %d -> %d",
            type(self.module).__name__,
            f"{trainable:,}",
            f"{total:,}",
            self.precision.name,
            self.device,
            self.dist.world_size,
            f" ({layout})" if layout else "",
            self.samples_per_iteration,
            self.iteration,
            self.max_iter,
        )


@contextlib.contextmanager
def _warnings_quieted() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        # fp16: the scaler skips steps whose gradients overflowed, which PyTorch mistakes for a wrong
        # call order; the order here is right.
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
        yield


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
                f"the training dataset has {sampler.dataset_size} samples for {sampler.num_replicas} data-parallel "
                f"rank(s), fewer than one batch of {settings.batch_size} per rank with drop_last; lower the "
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
