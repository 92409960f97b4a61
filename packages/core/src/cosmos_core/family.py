"""What a model family offers the launcher: its actions, its config, its experiments, its run layout.

A family plugin registers one :class:`ModelFamily` through ``cosmos_register_tasks``. Everything in
it is plain data or ``"module:attribute"`` strings imported only when needed, so listing plugins or
printing ``--help`` never imports torch.

Two kinds of :class:`Action`:

- **config actions** (``arguments is None``) take the family's experiment config, built from
  ``-e SPEC``, ``experiment=NAME`` and ``dotted.path=value`` overrides and validated before the
  action runs; the target is called as ``target(config, ctx)``;
- **command actions** (``arguments="module:function"``) own an argparse parser, like the reference's
  scripts (``--dataset_path``, ``--N_videos``); ``function(parser)`` adds the arguments and the target
  is called as ``target(args, ctx)`` with the parsed namespace.

Either returns an exit code (or None for 0). ``ctx`` is a :class:`cosmos_core.run.RunContext`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs


@attrs.frozen
class Action:
    """One action of a family: ``cosmos-run FAMILY NAME ...``."""

    target: str
    """``"module:function"`` run as ``function(config_or_args, ctx) -> int | None``."""
    help: str
    """One line for ``cosmos-run FAMILY --help`` and the action's own ``--help``."""
    arguments: str | None = None
    """Command actions: ``"module:function"`` adding argparse arguments to the action's parser."""
    validator: str | None = None
    """Config actions: ``"module:function(config, ctx) -> list[str]"`` of problems (config paths and
    what to do), checked after the family's validator and before any work."""

    @property
    def takes_config(self) -> bool:
        return self.arguments is None


@attrs.frozen
class DeviceRequest:
    """How many processes and GPUs an action asks for (``train.num_gpus`` and friends)."""

    num_gpus: int = 0
    """0: CPU; 1: one process; N > 1 or -1 (every visible GPU): re-launch under torchrun."""
    num_nodes: int = 1
    gpu_ids: Sequence[int] = (0,)
    setting: str = "num_gpus"
    """The config path of ``num_gpus``, named in warnings (``train.num_gpus``)."""


@attrs.frozen
class ParallelDims:
    """How the processes of a job are arranged on a :class:`torch.distributed.DeviceMesh`.

    ``world_size = dp_replicate * dp_shard * tp``. ``dp_replicate = -1`` takes whatever the other
    two leave. ``sources`` maps each field to the config path that set it, so a layout that does not
    fit the world size is reported in the family's own terms.
    """

    dp_replicate: int = -1
    dp_shard: int = 1
    tp: int = 1
    sources: Mapping[str, str] = attrs.field(factory=dict, eq=False)


@runtime_checkable
class FamilyRuntime(Protocol):
    """Where a family's runs live and what they need; the launcher and the run lifecycle ask it."""

    config_file: str
    """Name of the resolved-config file written into the run folder (``experiment.yaml``)."""

    def run_dir(self, config: Any, action: str) -> Path:
        """The folder of one run of ``action`` (logs, resolved config, outputs)."""

    def devices(self, config: Any, action: str) -> DeviceRequest:
        """Processes and GPUs ``action`` asks for."""

    def parallel(self, config: Any, action: str) -> ParallelDims:
        """The parallel layout of ``action`` (data parallel only for most actions)."""


@runtime_checkable
class ExperimentCatalog(Protocol):
    """Named base configs, selected with ``experiment=NAME`` before the other overrides apply
    (the reference's Hydra ``-- experiment=NAME``)."""

    def names(self) -> list[str]:
        """Every experiment name, for listings and closest-match hints."""

    def get(self, name: str) -> Mapping[str, Any]:
        """The config data of ``name`` (a mapping the family's config class accepts)."""


@attrs.frozen
class ModelFamily:
    """A model family: ``cosmos-run <name> <action> ...``."""

    name: str
    actions: Mapping[str, Action]
    config_class: type | None = None
    """The attrs experiment schema of the config actions (None when the family has only command actions)."""
    specs_package: str | None = None
    """Package whose ``specs/`` folder holds the bundled experiment specs (``-e NAME``)."""
    description: str = ""
    validator: str | None = None
    """``"module:function(config, action, host) -> list[str]"``: cross-field rules of every config action."""
    runtime: str | None = None
    """``"module:attribute"`` of a :class:`FamilyRuntime` (required for config actions)."""
    experiments: str | None = None
    """``"module:attribute"`` of an :class:`ExperimentCatalog` (families with named experiments)."""
    spec_required: bool = False
    """Config actions refuse to run without ``-e SPEC``, as TAO's commands do: the schema's defaults
    alone (``results_dir: /results``, mock data) are never what a user meant."""
