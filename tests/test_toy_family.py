"""The core hosts a family unlike Cosmos-Embed1: a toy with DTensor tensor parallelism 2 on a 2-rank
gloo mesh, sharded checkpoints in the Transfer1 reference's names, SIGTERM and exact auto-resume,
experiment names and ``--dryrun`` (the family is ``tests/toy_family.py``, loaded with ``-p``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cosmos_core.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("toy_family")]

HERE = Path(__file__).parent
JOB = ("toy_project", "toy_group")


def env_with(output_root: Path) -> dict[str, str]:
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OUTPUT_ROOT": str(output_root), "OMP_NUM_THREADS": "1"}


def torchrun(output_root: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``torchrun --nproc_per_node 2 -m cosmos_core.cli -p toy_family toy-tp train -- OVERRIDES``."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += ["-m", "cosmos_core.cli", "-p", "toy_family", "toy-tp", "train", "--", *overrides]
    done = subprocess.run(command, env=env_with(output_root), capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def in_process(output_root: Path, monkeypatch, *overrides: str) -> int:
    monkeypatch.setenv("OUTPUT_ROOT", str(output_root))
    monkeypatch.syspath_prepend(str(HERE))
    return main(["-p", "toy_family", "toy-tp", "train", "--", *overrides])


def job(output_root: Path, name: str) -> Path:
    return output_root.joinpath(*JOB, name)


def records(folder: Path, rank: int) -> list[dict]:
    return [json.loads(line) for line in (folder / "records" / f"rank{rank}.jsonl").read_text().splitlines()]


def shards(folder: Path, iteration: int, part: str = "model") -> list[dict]:
    return [
        torch.load(folder / "checkpoints" / f"iter_{iteration:09d}_{part}_mp_{rank}.pt", weights_only=True)
        for rank in (0, 1)
    ]


def merged_weights(folder: Path, iteration: int) -> dict[str, torch.Tensor]:
    """Column-parallel layer1 on dim 0, row-parallel layer2 on dim 1, replicated scale."""
    parts = [shard["model"] for shard in shards(folder, iteration)]
    return {
        "layer1.weight": torch.cat([p["layer1.weight"] for p in parts], dim=0),
        "layer2.weight": torch.cat([p["layer2.weight"] for p in parts], dim=1),
        "scale": parts[0]["scale"],
    }


def test_tensor_parallel_training_matches_one_process(tmp_path, monkeypatch):
    torchrun(tmp_path, "experiment=toy_tp2")
    tp2 = job(tmp_path, "toy_tp2")
    assert in_process(tmp_path, monkeypatch, "experiment=toy_tp1") == 0
    tp1 = job(tmp_path, "toy_tp1")

    ranks = [records(tp2, rank) for rank in (0, 1)]
    single = records(tp1, 0)
    # the ranks of one TP group see the same batches and draw the same noise
    for field in ("indices", "noise", "losses"):
        assert [r[field] for r in ranks[0]] == [r[field] for r in ranks[1]], field
    assert [r["indices"] for r in ranks[0]] == [r["indices"] for r in single]
    assert [r["noise"] for r in ranks[0]] == [r["noise"] for r in single]
    for split, whole in zip(ranks[0], single, strict=True):
        assert split["losses"]["mse"] == pytest.approx(whole["losses"]["mse"], rel=1e-5)
        # the monitor reduces over the shards: each rank reports the whole gradient's norm
        assert split["grad_norm/total"] == pytest.approx(whole["grad_norm/total"], rel=1e-5)

    first, second = shards(tp2, 6)
    assert first["model"]["layer1.weight"].shape == (8, 8)  # hidden 16 split in two
    assert torch.equal(first["model"]["scale"], second["model"]["scale"])  # replicated stays identical
    reference = torch.load(tp1 / "checkpoints" / "iter_000000006_model_mp_0.pt", weights_only=True)["model"]
    for name, value in merged_weights(tp2, 6).items():
        torch.testing.assert_close(value, reference[name], rtol=1e-5, atol=1e-6, msg=name)
    assert (tp2 / "checkpoints" / "latest_checkpoint.txt").read_text() == "iter_000000006.pt\n"
    assert "tensor_model_parallel_size: 2" in (tp2 / "config.yaml").read_text()


def test_sigterm_saves_the_boundary_and_a_rerun_resumes_exactly(tmp_path):
    torchrun(tmp_path, "experiment=toy_tp2", "job.name=straight", "checkpoint.save_iter=100")
    overrides = ("experiment=toy_tp2", "job.name=resumed", "checkpoint.save_iter=100")
    stopped = torchrun(tmp_path, *overrides, "stop_at_iteration=3", check=False)
    assert stopped.returncode != 0
    ours = [line for line in stopped.stderr.splitlines() if line.startswith("cosmos-run:")]
    assert len(ours) == 1 and ours[0].startswith("cosmos-run: stopped by SIGTERM: saved iteration 3 to ")
    assert "cosmos_core" not in stopped.stderr  # no traceback of ours (torchrun prints its own)
    resumed = job(tmp_path, "resumed")
    assert (resumed / "checkpoints" / "latest_checkpoint.txt").read_text() == "iter_000000003.pt\n"

    torchrun(tmp_path, *overrides)  # the same command, without the test's stop
    assert [r["iteration"] for r in records(resumed, 0)] == [1, 2, 3, 4, 5, 6]
    straight = job(tmp_path, "straight")
    assert [r["losses"] for r in records(resumed, 0)] == [r["losses"] for r in records(straight, 0)]
    for part in ("model", "optim"):
        for got, expected in zip(shards(resumed, 6, part), shards(straight, 6, part), strict=True):
            assert_tree_equal(got, expected, part)


def assert_tree_equal(got, expected, where: str) -> None:
    if isinstance(expected, dict):
        assert set(got) == set(expected), where
        for key in expected:
            assert_tree_equal(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, torch.Tensor):
        assert torch.equal(got, expected), where
    else:
        assert got == expected, where


def test_dryrun_writes_the_job_config_and_touches_nothing_else(tmp_path, monkeypatch, capsys):
    assert main_dryrun(tmp_path, monkeypatch) == 0
    folder = job(tmp_path, "toy_tp2")
    out = capsys.readouterr().out
    assert f"dry run: config written to {folder / 'config.yaml'}" in out
    assert "tensor_model_parallel_size: 2" in out
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml"]
    assert not torch.distributed.is_initialized()


def main_dryrun(output_root: Path, monkeypatch) -> int:
    monkeypatch.setenv("OUTPUT_ROOT", str(output_root))
    monkeypatch.syspath_prepend(str(HERE))
    return main(["-p", "toy_family", "toy-tp", "train", "--dryrun", "--", "experiment=toy_tp2"])


def test_a_layout_that_needs_more_processes_is_a_config_error(tmp_path, monkeypatch, capsys):
    assert in_process(tmp_path, monkeypatch, "experiment=toy_tp2") == 2
    err = capsys.readouterr().err
    assert "1 process(es) cannot be split into groups of tp (model_parallel.tensor_model_parallel_size)=2" in err
