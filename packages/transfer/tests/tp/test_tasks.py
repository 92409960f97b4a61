"""convert_tp and merge_tp through the real launcher: exit codes, summary lines, one-line errors."""

from __future__ import annotations

import torch
from cosmos_core.cli import main

FAMILY = "cosmos-transfer1"


def test_convert_then_merge_from_the_command_line(tmp_path, base_state, save, capsys):
    source = save(tmp_path / "released" / "base_model.pt", base_state)
    assert main([FAMILY, "convert_tp", str(source), "--tp", "2"]) == 0
    assert main([FAMILY, "merge_tp", str(tmp_path / "released" / "checkpoints_tp" / "base_model.pt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    summaries = [line.split("cosmos.run: ", 1)[1] for line in lines if "cosmos.run: " in line]
    assert summaries[0].startswith(f"convert_tp: {source} (flat weights, ")
    assert "split for tensor parallelism 2: " in summaries[0] and "base_model_model_mp_0..1.pt" in summaries[0]
    assert summaries[1].startswith("merge_tp: 2 shards of base_model merged into ")
    merged = torch.load(tmp_path / "released" / "fsdp_checkpoints" / "base_model_reg_model.pt", weights_only=True)
    assert merged.keys() == base_state.keys() and all(torch.equal(merged[k], v) for k, v in base_state.items())


def test_output_directories_and_flags(tmp_path, control_state, save):
    source = save(tmp_path / "edge_control.pt", {"model": control_state, "ema": {}})
    assert main([FAMILY, "convert_tp", str(source), "--tp", "1", "--output-directory", str(tmp_path / "tp1")]) == 0
    assert sorted(path.name for path in (tmp_path / "tp1").iterdir()) == [
        "edge_control.pt",
        "edge_control_model_mp_0.pt",
    ]
    shard = str(tmp_path / "tp1" / "edge_control_model_mp_0.pt")
    assert main([FAMILY, "merge_tp", shard, "--tp", "1", "--output-directory", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "edge_control_reg_model.pt").is_file()


def test_bad_input_is_one_error_line_and_exit_code_2(tmp_path, control_state, save, capsys):
    source = save(tmp_path / "edge_control.pt", control_state)
    assert main([FAMILY, "convert_tp", str(source), "--tp", "4"]) == 2
    assert main([FAMILY, "merge_tp", str(tmp_path / "checkpoints_tp" / "edge_control.pt")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"cosmos-run: error: tensor-parallel size 4 does not divide the 2 attention heads of {source}; use one of 1, 2",
        f"cosmos-run: error: checkpoint {tmp_path / 'checkpoints_tp' / 'edge_control.pt'} not found",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["edge_control.pt"]
