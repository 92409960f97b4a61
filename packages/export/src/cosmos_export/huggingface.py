"""Write a Hugging Face model directory: sharded safetensors, their index, ``config.json``, other files.

Layout, as in the published checkpoints (e.g. ``nvidia/Cosmos-Embed1-224p``)::

    config.json                      the family's hf_config()
    model-00001-of-0000N.safetensors shards of at most ``max_shard_bytes``, tensors in the family's order
    model.safetensors.index.json     {"metadata": {"total_size", "total_parameters"}, "weight_map"}
    <hf_files()>                     tokenizer, processor config, ... as the family gives them

The index is always written, also for a single shard, so readers need one code path. A dry run writes
``config.json`` and the index from tensor shapes alone (meta tensors work): the layout of a
billion-parameter model can be produced and inspected without allocating its weights.

After a real export every shard is read back and compared bit for bit with what was meant to be
written, then the family's ``check_hf_reload`` loads the directory with its own loader.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import torch

from cosmos_export.errors import ExportFailed
from cosmos_export.protocols import HuggingFaceSource

logger = logging.getLogger("cosmos.export")

CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"
# The published shards are at most 500 MB each (224p/336p/448p: five shards of 439-490 MB, embed1.md §1).
DEFAULT_MAX_SHARD_BYTES = 500 * 10**6
SHARD_GLOBS = ("model-*-of-*.safetensors", "model.safetensors", INDEX_FILE)


@attrs.frozen
class ShardPlan:
    shards: tuple[tuple[str, tuple[str, ...]], ...]
    """(file name, tensor keys) per shard, in writing order."""
    total_bytes: int
    total_elements: int

    @property
    def weight_map(self) -> dict[str, str]:
        return {key: name for name, keys in self.shards for key in keys}

    def index(self) -> dict[str, Any]:
        return {
            "metadata": {"total_size": self.total_bytes, "total_parameters": self.total_elements},
            "weight_map": dict(sorted(self.weight_map.items())),
        }


def plan_shards(state: Mapping[str, torch.Tensor], max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES) -> ShardPlan:
    """Fill shards greedily in key order; a tensor larger than the limit gets a shard of its own."""
    groups: list[list[str]] = [[]]
    filled = 0
    total_bytes = total_elements = 0
    for key, tensor in state.items():
        size = tensor.numel() * tensor.element_size()
        if groups[-1] and filled + size > max_shard_bytes:
            groups.append([])
            filled = 0
        groups[-1].append(key)
        filled += size
        total_bytes += size
        total_elements += tensor.numel()
    count = len(groups)
    shards = tuple(
        (f"model-{number:05d}-of-{count:05d}.safetensors", tuple(keys)) for number, keys in enumerate(groups, start=1)
    )
    return ShardPlan(shards=shards, total_bytes=total_bytes, total_elements=total_elements)


@attrs.frozen
class HuggingFaceExportReport:
    path: str
    shards: list[str]
    num_tensors: int
    total_bytes: int
    total_parameters: int
    files: list[str]
    dry_run: bool
    reload: dict[str, Any] = attrs.field(factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return attrs.asdict(self, recurse=True)

    def summary(self) -> str:
        what = "wrote the layout (config and index, no weights)" if self.dry_run else "exported"
        return (
            f"{what} to {self.path}: {self.num_tensors} tensors, {self.total_parameters:,} stored values, "
            f"{self.total_bytes / 1e6:.1f} MB in {len(self.shards)} shard(s) in {self.seconds:.1f}s"
            + (f"; reload check: {self.reload}" if self.reload else "")
        )


def write_hf_directory(
    source: HuggingFaceSource,
    directory: Path,
    *,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    dry_run: bool = False,
) -> HuggingFaceExportReport:
    """Write the layout of ``source`` into ``directory`` (see the module docstring); no checks."""
    return _write_layout(source, source.hf_state_dict(), Path(directory), max_shard_bytes, dry_run)


def export_hf(source: HuggingFaceSource, directory: Path) -> HuggingFaceExportReport:
    """Write, read every shard back bit for bit, then run the family's reload check."""
    state = source.hf_state_dict()
    report = _write_layout(source, state, Path(directory), DEFAULT_MAX_SHARD_BYTES, dry_run=False)
    verify_shards(state, Path(directory))
    return attrs.evolve(report, reload=source.check_hf_reload(Path(directory)))


def _write_layout(
    source: HuggingFaceSource,
    state: Mapping[str, torch.Tensor],
    directory: Path,
    max_shard_bytes: int,
    dry_run: bool,
) -> HuggingFaceExportReport:
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    plan = plan_shards(state, max_shard_bytes)
    _remove_earlier_shards(directory)
    files = [CONFIG_FILE, INDEX_FILE]
    _write_json(directory / CONFIG_FILE, source.hf_config())
    if not dry_run:
        _write_shards(state, plan, directory)
        for name, text in source.hf_files().items():
            if Path(name).name != name or name in files:
                raise ValueError(f"{source.family}: hf_files() names {name!r}, which is not a plain, new file name")
            (directory / name).write_text(text, encoding="utf-8")
            files.append(name)
    # The index goes last: its presence says the shards it names are complete.
    _write_json(directory / INDEX_FILE, plan.index())
    return HuggingFaceExportReport(
        path=str(directory),
        shards=[name for name, _ in plan.shards],
        num_tensors=len(state),
        total_bytes=plan.total_bytes,
        total_parameters=plan.total_elements,
        files=sorted(files),
        dry_run=dry_run,
        seconds=round(time.perf_counter() - started, 2),
    )


def verify_shards(state: Mapping[str, torch.Tensor], directory: Path) -> None:
    """Every tensor of ``state`` is in the shard the index names, with the same dtype, shape and bits."""
    from safetensors import safe_open

    weight_map = json.loads((directory / INDEX_FILE).read_text())["weight_map"]
    if set(weight_map) != set(state):
        raise ExportFailed(f"{directory / INDEX_FILE} lists other keys than were exported")
    by_shard: dict[str, list[str]] = {}
    for key, shard in weight_map.items():
        by_shard.setdefault(shard, []).append(key)
    for shard, keys in by_shard.items():
        with safe_open(str(directory / shard), framework="pt") as handle:
            stored = set(handle.keys())
            for key in keys:
                if key not in stored:
                    raise ExportFailed(f"{directory / shard} lacks {key}, which the index puts there")
                if not torch.equal(handle.get_tensor(key), state[key].detach().cpu()):
                    raise ExportFailed(f"{key} read back from {directory / shard} differs from the exported tensor")


def _write_shards(state: Mapping[str, torch.Tensor], plan: ShardPlan, directory: Path) -> None:
    from safetensors.torch import save_file

    for name, keys in plan.shards:
        # clone: safetensors refuses tensors that share storage (tied weights, views)
        tensors = {key: state[key].detach().cpu().clone().contiguous() for key in keys}
        save_file(tensors, str(directory / name), metadata={"format": "pt"})
        # safetensors writes owner-only files; give shards the permissions of the files beside them
        shutil.copymode(directory / CONFIG_FILE, directory / name)
        logger.info("wrote %s (%d tensors)", directory / name, len(keys))


def _remove_earlier_shards(directory: Path) -> None:
    """Shards of an earlier export into the same folder would sit beside the new ones unnamed by the index."""
    for pattern in SHARD_GLOBS:
        for path in directory.glob(pattern):
            path.unlink()


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
