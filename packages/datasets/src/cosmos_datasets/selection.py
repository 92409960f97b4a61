"""Choosing a dataset type from the registry: its name and its own options checked, then built.

A type registered with an ``options`` attrs class (``registry.add(name, factory, options=Cls)``) gets
the dataset config's ``options`` mapping validated against that class when the config loads, with
paths such as ``dataset.train_dataset.options.caption_suffix``, and receives the structured object
as ``factory(config, training=..., options=...)``. A type without declared options refuses any.
"""

from __future__ import annotations

from typing import Any

from cosmos_core.config.loader import ConfigError, structure, validate
from cosmos_core.registry import DatasetRegistry

from cosmos_datasets.config import SingleDatasetConfig


def dataset_problems(cfg: SingleDatasetConfig, path: str, registry: DatasetRegistry) -> list[str]:
    """Problems of the ``dataset_type`` and ``options`` of the dataset config at ``path``."""
    if cfg.dataset_type not in registry:
        return [f"{path}.dataset_type: {registry.unknown_message(cfg.dataset_type)}"]
    schema = registry.entry(cfg.dataset_type).options
    if schema is None:
        if cfg.options:
            return [
                f"{path}.options: dataset type {cfg.dataset_type!r} declares no options of its own, got "
                f"{sorted(cfg.options)}"
            ]
        return []
    return [f"{path}.options.{problem}" for problem in validate(schema, cfg.options)]


def build_dataset(cfg: SingleDatasetConfig, registry: DatasetRegistry, *, training: bool, path: str) -> Any:
    """The dataset of ``cfg`` from its registered factory (options structured when the type has them)."""
    problems = dataset_problems(cfg, path, registry)
    if problems:
        raise ConfigError(problems)
    entry = registry.entry(cfg.dataset_type)
    if entry.options is None:
        return entry.obj(cfg, training=training)
    return entry.obj(cfg, training=training, options=structure(entry.options, cfg.options, f"{path}.options"))
