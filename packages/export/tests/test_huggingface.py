"""The Hugging Face writer on a toy family: shards, index, read-back check, dry run on the meta device."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
import torch
from cosmos_export.errors import ExportFailed
from cosmos_export.exporters import HuggingFaceExporter
from cosmos_export.huggingface import INDEX_FILE, plan_shards, verify_shards, write_hf_directory


@attrs.define
class ToyHFSource:
    tensors: dict[str, torch.Tensor]
    files: dict[str, str] = attrs.field(factory=lambda: {"vocab.txt": "[PAD]\nhello\n"})
    family: str = "toy-family"
    reloaded: list[Path] = attrs.field(factory=list)

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.tensors)

    def hf_config(self) -> dict:
        return {"model_type": "toy", "hidden": 8}

    def hf_files(self) -> dict[str, str]:
        return dict(self.files)

    def check_hf_reload(self, directory: Path) -> dict:
        self.reloaded.append(directory)
        return {"missing_keys": 0}


def toy_tensors() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    shared = torch.randn(10, 8, generator=generator)
    return {
        "embeddings.weight": shared,
        "head.weight": shared,  # tied: the same storage under two keys, as the published LM decoder
        "blocks.0.weight": torch.randn(8, 8, generator=generator).to(torch.bfloat16),
        "blocks.1.weight": torch.randn(8, 8, generator=generator),
        "position_ids": torch.arange(6),
    }


def test_plan_fills_shards_greedily_in_key_order():
    state = {"a": torch.empty(10), "b": torch.empty(10), "c": torch.empty(30), "d": torch.empty(1)}
    plan = plan_shards(state, max_shard_bytes=80)  # float32: a, b = 40 B each; c = 120 B alone
    assert [keys for _, keys in plan.shards] == [("a", "b"), ("c",), ("d",)]
    assert [name for name, _ in plan.shards][0] == "model-00001-of-00003.safetensors"
    assert plan.total_bytes == 204 and plan.total_elements == 51


def test_export_writes_shards_index_config_and_files(tmp_path):
    source = ToyHFSource(toy_tensors())
    report = HuggingFaceExporter().export(source, None, tmp_path / "hf")
    folder = tmp_path / "hf"
    index = json.loads((folder / INDEX_FILE).read_text())
    assert sorted(index["weight_map"]) == sorted(source.tensors)
    assert index["metadata"]["total_parameters"] == 10 * 8 * 2 + 64 * 2 + 6
    assert index["metadata"]["total_size"] == 160 * 4 + 64 * 2 + 64 * 4 + 6 * 8
    assert json.loads((folder / "config.json").read_text()) == {"hidden": 8, "model_type": "toy"}
    assert (folder / "vocab.txt").read_text() == "[PAD]\nhello\n"
    assert report.reload == {"missing_keys": 0} and source.reloaded == [folder]
    assert report.files == sorted(["config.json", INDEX_FILE, "vocab.txt"])


def test_many_shards_and_a_second_export_leaves_no_stale_shard(tmp_path):
    source = ToyHFSource(toy_tensors())
    first = write_hf_directory(source, tmp_path, max_shard_bytes=300)
    assert len(first.shards) > 1
    verify_shards(source.hf_state_dict(), tmp_path)
    second = write_hf_directory(source, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("model-*.safetensors")) == second.shards
    assert second.shards == ["model-00001-of-00001.safetensors"]


def test_read_back_catches_a_changed_tensor(tmp_path):
    source = ToyHFSource(toy_tensors())
    write_hf_directory(source, tmp_path)
    changed = source.hf_state_dict()
    changed["blocks.1.weight"] = changed["blocks.1.weight"] + 1e-3
    with pytest.raises(ExportFailed, match=r"blocks\.1\.weight read back"):
        verify_shards(changed, tmp_path)


def test_dry_run_on_the_meta_device_writes_only_config_and_index(tmp_path):
    with torch.device("meta"):
        tensors = {"big.weight": torch.empty(50_000, 4_000), "small.bias": torch.empty(7, dtype=torch.bfloat16)}
    report = write_hf_directory(ToyHFSource(tensors), tmp_path, dry_run=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", INDEX_FILE]
    assert report.total_bytes == 50_000 * 4_000 * 4 + 14 and report.dry_run
    assert len(report.shards) == 2  # 800 MB do not fit one 500 MB shard


def test_family_file_names_must_stay_inside_the_folder(tmp_path):
    source = ToyHFSource(toy_tensors(), files={"../escape.txt": "x"})
    with pytest.raises(ValueError, match="not a plain, new file name"):
        write_hf_directory(source, tmp_path / "hf")
