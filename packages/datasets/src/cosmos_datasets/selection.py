"""Choosing a dataset type from the registry: its name and its own options checked, then built.

A type registered with an ``options`` attrs class (``registry.add(name, factory, options=Cls)``) gets
the dataset config's ``options`` mapping validated against that class when the config loads, with
paths such as ``dataset.train_dataset.options.caption_suffix``, and receives the structured object
as ``factory(config, training=..., options=...)``. A type without declared options refuses any.
The fields a type ``requires`` must be set, and a local ``metadata`` file must exist: both are
checked with the config path that names them, before any model is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosmos_core.config.loader import ConfigError, structure, validate
from cosmos_core.registry import DatasetRegistry

from cosmos_datasets.config import SingleDatasetConfig


def dataset_problems(cfg: SingleDatasetConfig, path: str, registry: DatasetRegistry) -> list[str]:
    """Problems of the ``dataset_type`` and ``options`` of the dataset config at ``path``."""
    if cfg.dataset_type not in registry:
        return [f"{path}.dataset_type: {registry.unknown_message(cfg.dataset_type)}"]
    entry = registry.entry(cfg.dataset_type)
    problems = [
        f"{path}.{field} is not set; dataset type {cfg.dataset_type!r} needs it ({entry.help.rstrip('.')})"
        for field in entry.requires
        if not getattr(cfg, field)
    ]
    problems += _missing_files(cfg, path)
    if entry.options is None:
        if cfg.options:
            problems.append(
                f"{path}.options: dataset type {cfg.dataset_type!r} declares no options of its own, got "
                f"{sorted(cfg.options)}"
            )
        return problems
    return problems + [f"{path}.options.{problem}" for problem in validate(entry.options, cfg.options)]


def _missing_files(cfg: SingleDatasetConfig, path: str) -> list[str]:
    """A local metadata file or data_root folder that does not exist (URLs are left to the reader)."""
    problems = []
    if cfg.metadata and "://" not in cfg.metadata and not Path(cfg.metadata).expanduser().is_file():
        where = "is a folder, not a file" if Path(cfg.metadata).expanduser().is_dir() else "no such file"
        problems.append(f"{path}.metadata: {cfg.metadata}: {where} (relative paths start from {Path.cwd()})")
    if cfg.data_root and "://" not in cfg.data_root and Path(cfg.data_root).expanduser().is_file():
        problems.append(f"{path}.data_root: {cfg.data_root} is a file; data_root is the folder the videos are in")
    return problems


def build_dataset(cfg: SingleDatasetConfig, registry: DatasetRegistry, *, training: bool, path: str) -> Any:
    """The dataset of ``cfg`` from its registered factory (options structured when the type has them)."""
    problems = dataset_problems(cfg, path, registry)
    if problems:
        raise ConfigError(problems)
    entry = registry.entry(cfg.dataset_type)
    if entry.options is None:
        return entry.obj(cfg, training=training)
    return entry.obj(cfg, training=training, options=structure(entry.options, cfg.options, f"{path}.options"))
