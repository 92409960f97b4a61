"""Command lines the cross-package Cosmos-Embed1 tests share: the tiny spec on a generated sample folder.

Importable from the tests because ``pyproject.toml`` puts ``tests/`` on pytest's ``pythonpath``.
"""

from __future__ import annotations

from pathlib import Path


def split_overrides(key: str, data: Path, split: str | None = None) -> list[str]:
    """Point ``dataset.<key>`` at the sample folder ``data`` (its ``metadata.json`` and videos), restricted
    to ``split`` when given."""
    overrides = [f"dataset.{key}.metadata={data / 'metadata.json'}", f"dataset.{key}.data_root={data}"]
    return [*overrides, f"dataset.{key}.split={split}"] if split else overrides


def tiny_train_argv(results: Path, data: Path, *overrides: str) -> list[str]:
    """``cosmos-embed1 train -e finetune_tiny`` on the train and val splits of ``data`` (after ``cosmos-run``)."""
    return [
        "cosmos-embed1",
        "train",
        "-e",
        "finetune_tiny",
        f"results_dir={results}",
        *split_overrides("train_dataset", data, "train"),
        *split_overrides("val_dataset", data, "val"),
        *overrides,
    ]
