"""Hook specifications of cosmos-run.

A plugin is a module with ``@hookimpl`` functions named after the hooks below, published through the
``cosmos_core.plugins`` entry-point group::

    # pyproject.toml of your distribution
    [project.entry-points."cosmos_core.plugins"]
    my_plugin = "my_package.plugin"

Every hook receives one typed registry and adds named components to it. Registering only adds names:
nothing runs until an experiment config names a component. Implementations may accept fewer
arguments than the spec lists (pluggy's opt-in arguments), so new arguments can be added later
without breaking plugins.

Plugin modules must stay cheap to import: import torch, decord, onnx or wandb inside the factories
they register, never at module level, so ``cosmos-run plugins`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from cosmos_core.registry import (
        CallbackRegistry,
        ControlModalityRegistry,
        DatasetRegistry,
        ExporterRegistry,
        LossRegistry,
        TaskRegistry,
    )

PROJECT_NAME = "cosmos"
ENTRY_POINT_GROUP = "cosmos_core.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = [
    "cosmos_register_callbacks",
    "cosmos_register_control_modalities",
    "cosmos_register_datasets",
    "cosmos_register_exporters",
    "cosmos_register_losses",
    "cosmos_register_tasks",
    "hookimpl",
    "hookspec",
]

# -------------------------------------------------------------------------------------------------
# Model families
# -------------------------------------------------------------------------------------------------


@hookspec
def cosmos_register_tasks(registry: TaskRegistry) -> None:
    """Register model families and the actions the launcher offers for them.

    :param registry: add a :class:`cosmos_core.family.ModelFamily` per family, e.g.
        ``registry.add("cosmos-embed1", ModelFamily(...))``. Its ``actions`` map action names
        (``train``, ``evaluate``, …) to :class:`cosmos_core.family.Action` objects whose targets are
        ``"module:function"`` strings imported only when run; its ``runtime`` says where runs write
        and what they need, ``specs_package`` names the package whose ``specs/`` folder holds
        bundled specs, and ``experiments`` an optional catalog of named experiments.

    The launcher then accepts ``cosmos-run <family> <action> [--dryrun] [-e SPEC] [--]
    [experiment=NAME] [dotted.overrides]`` for config actions, the action's own arguments for
    command actions, and ``--help`` for the family and each action.

    Use in plugins
    --------------
    Any plugin may add a family; a family name registered by two plugins is an error naming both.
    """


# -------------------------------------------------------------------------------------------------
# Data
# -------------------------------------------------------------------------------------------------


@hookspec
def cosmos_register_datasets(registry: DatasetRegistry) -> None:
    """Register dataset types, selected by a dataset config's ``dataset_type``.

    :param registry: ``registry.add(name, factory, help=..., options=None)`` where
        ``factory(config, *, training: bool) -> torch.utils.data.Dataset`` receives the structured
        ``SingleDatasetConfig`` of the split being built. A type with options of its own passes an
        attrs class as ``options``; specs set them under the dataset config's ``options`` mapping,
        they are validated when the config loads, and the factory receives them as ``options=``.
        Items are sample dicts (``video`` uint8 ``[T, 3, H, W]``, ``caption``, ``label``, ``index``,
        ``path``) or a ``cosmos_datasets.SkippedSample`` for an input that could not be read.

    Use in plugins
    --------------
    Third-party dataset formats (a folder of videos with sidecar captions, an internal catalogue)
    register here; users then write ``dataset_type: <name>`` in their spec.
    """


# -------------------------------------------------------------------------------------------------
# Training
# -------------------------------------------------------------------------------------------------


@hookspec
def cosmos_register_callbacks(registry: CallbackRegistry) -> None:
    """Register training callbacks, selected by the keys of ``train.callbacks``.

    :param registry: ``registry.add(name, factory, help=...)`` where ``factory(**params)`` returns an
        object implementing :class:`cosmos_core.training.callbacks.Callback`; ``params`` are the
        values given under the callback's key in the spec (``gradient_clip: {clip_norm: 5.0}``).

    Use in plugins
    --------------
    Model families add callbacks that only make sense for them (``clamp_logit_scale``); generic
    ones (``iter_speed``, ``log_losses``) come with cosmos-core.
    """


@hookspec
def cosmos_register_losses(registry: LossRegistry) -> None:
    """Register loss functions that a model family selects by name.

    :param registry: ``registry.add(name, fn, help=...)``; the calling convention of ``fn`` is set
        by the family that looks it up (Cosmos-Embed1 uses ``contrastive_type`` → ``clip`` or
        ``siglip``).
    """


# -------------------------------------------------------------------------------------------------
# Controlled generation
# -------------------------------------------------------------------------------------------------


@hookspec
def cosmos_register_control_modalities(registry: ControlModalityRegistry) -> None:
    """Register control inputs for controlled video diffusion (edge, blur, depth, seg, …).

    :param registry: ``registry.add(name, modality, help=...)``; the modality object describes how
        the control input is computed from a video and how many channels it has.
    """


# -------------------------------------------------------------------------------------------------
# Export
# -------------------------------------------------------------------------------------------------


@hookspec
def cosmos_register_exporters(registry: ExporterRegistry) -> None:
    """Register exporters, selected by ``export.mode``.

    :param registry: ``registry.add(mode, exporter, help=...)``; the exporter receives the model
        family's description of the graphs it offers, so a new family gets export without changes
        to the exporter.
    """
