"""Tensor parallelism (+ sequence parallelism), FSDP and their 2-D combination on gloo CPU ranks under
``torch.distributed.run``, against one process: forward and gradients, AdamW steps, the core Trainer with
sharded checkpoints, merge_tp, and a TP-2 checkpoint continued at TP 1 and at TP 2 (``tp_worker.py`` is
the worker; each rank records what it measured)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cosmos_transfer.tp.merge import merge_shards, plan_merge
from cosmos_transfer.tp.split import plan_split, split_checkpoint

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("transfer_multirank")]

WORKER = Path(__file__).parent / "tp_worker.py"


def run_worker(nproc: int, *args: str, timeout: float = 300) -> None:
    """The worker under ``torch.distributed.run --standalone`` (``nproc`` > 1) or as a plain process; on a
    timeout the launcher and its workers are killed together and the test fails with their output."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)] if nproc > 1 else []
    command = [sys.executable, *launcher, str(WORKER), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    process = subprocess.Popen(command, env=env, start_new_session=True, **pipes)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{' '.join(args)} did not finish in {timeout} s:\n{output[-4000:]}")
    assert process.returncode == 0, output[-6000:]


def records(out: Path, scenario: str, ranks: int) -> list[dict]:
    return [json.loads((out / f"{scenario}_rank{rank}.json").read_text()) for rank in range(ranks)]


def write_released(out: Path, tp: int) -> None:
    """Tiny base_model.pt / edge_control.pt (as released) split ``tp`` ways into ``out/checkpoints_tp``."""
    sys.path.insert(0, str(WORKER.parent))
    try:
        from tp_worker import networks  # pants: no-infer-dep (the BUILD depends on :worker)
    finally:
        sys.path.remove(str(WORKER.parent))
    state = networks(seed=1).state_dict()
    for name, prefix in (("base_model", "base_model."), ("edge_control", "net.")):
        torch.save({key: value for key, value in state.items() if key.startswith(prefix)}, out / f"{name}.pt")
        split_checkpoint(plan_split(out / f"{name}.pt", tp), progress=False)


def test_tensor_parallel_forward_gradients_and_shard_loading_equal_one_process(tmp_path):
    write_released(tmp_path, 2)
    run_worker(2, "forward,load", str(tmp_path), "--tp", "2")
    for rank, record in enumerate(records(tmp_path, "forward", 2)):
        for mode in ("sp", "no_sp", "sp_checkpointed"):
            result = record[mode]
            assert result["output_error"] < 1e-5, (rank, mode)
            assert result["loss"] == pytest.approx(result["expected_loss"], rel=1e-6)
            assert result["grad_names"] and result["grad_error"] < 1e-5, (rank, mode, result["grad_error_at"])
            assert result["parameter_types"] == ["DTensor"] and result["replicated_mismatches"] == []
        assert record["odd_tokens"].startswith("sequence parallelism splits the 3 latent tokens of a 3x2x2 latent")
    for rank, record in enumerate(records(tmp_path, "load", 2)):
        assert record["files"] == [f"base_model_model_mp_{rank}.pt", f"edge_control_model_mp_{rank}.pt"]
        assert record["error"] == 0.0 and record["compared"] == 188


def test_tensor_parallel_training_checkpoints_merge_and_continue_at_tp1(tmp_path):
    tp2, tp1 = tmp_path / "tp2", tmp_path / "tp1"
    run_worker(2, "train", str(tp2), "--tp", "2")
    run_worker(1, "train", str(tp1))
    ranks, single = records(tp2, "train", 2), records(tp1, "train", 1)[0]
    assert ranks[0]["losses"] == ranks[1]["losses"]
    assert ranks[0]["losses"] == pytest.approx(single["losses"], rel=1e-5)
    assert all(r["replicated_mismatches"] == [] and r["parameter_types"] == ["DTensor"] for r in ranks)

    trainer = tp2 / "checkpoints" / "iter_000000003.pt"
    plan = plan_merge(trainer, include_base_model=True)
    (merged,) = merge_shards(plan, progress=False)
    assert merged == tp2 / "fsdp_checkpoints" / "iter_000000003_reg_model.pt"
    reference = torch.load(tp1 / "checkpoints" / "iter_000000003_model_mp_0.pt", weights_only=True)["model"]
    weights = torch.load(merged, weights_only=True)
    assert list(weights) == list(reference)
    for key, value in reference.items():
        torch.testing.assert_close(weights[key], value, rtol=1e-4, atol=2e-5, msg=key)

    # Continue from iteration 3 with a fresh optimizer (as a post-training start from load_path): at TP 1
    # from the merged file, at TP 2 with each rank loading its own shard of the training checkpoint.
    run_worker(1, "train", str(tmp_path / "continued_tp1"), "--load", str(merged))
    run_worker(2, "train", str(tmp_path / "continued_tp2"), "--tp", "2", "--load", str(trainer))
    at_tp1 = records(tmp_path / "continued_tp1", "train", 1)[0]["losses"]
    at_tp2 = records(tmp_path / "continued_tp2", "train", 2)[0]["losses"]
    assert at_tp1 == pytest.approx(at_tp2, rel=1e-5) and at_tp1 != pytest.approx(single["losses"], rel=1e-3)
    continued = tmp_path / "continued_tp1" / "checkpoints" / "iter_000000003_model_mp_0.pt"
    final_tp1 = torch.load(continued, weights_only=True)
    (final_tp2,) = merge_shards(
        plan_merge(tmp_path / "continued_tp2" / "checkpoints" / "iter_000000003.pt", include_base_model=True),
        progress=False,
    )
    final_tp2 = torch.load(final_tp2, weights_only=True)
    for key, value in final_tp1["model"].items():
        torch.testing.assert_close(final_tp2[key], value, rtol=1e-4, atol=2e-5, msg=key)


@pytest.mark.parametrize("dp_shard", [2, 1], ids=["fsdp_checkpointed", "replicas"])
def test_data_parallel_equals_one_process(tmp_path, dp_shard):
    run_worker(2, "data_parallel", str(tmp_path), "--dp-shard", str(dp_shard))
    for record in records(tmp_path, "data_parallel", 2):
        assert record["moved"] == record["trainable"] - 3  # all but the branch's unused final layer
        assert record["update_error"] < 1e-3, record["update_error_at"]


def test_tensor_parallel_and_fsdp_on_a_2d_mesh(tmp_path):
    write_released(tmp_path, 2)
    run_worker(4, "data_parallel,load", str(tmp_path), "--tp", "2", "--dp-shard", "2")
    for record in records(tmp_path, "data_parallel", 4):
        assert record["moved"] == record["trainable"] - 3
        assert record["update_error"] < 1e-2, record["update_error_at"]
    for rank, record in enumerate(records(tmp_path, "load", 4)):
        assert record["files"][0] == f"base_model_model_mp_{rank % 2}.pt"  # rank = dp_rank * tp + tp_rank
        assert record["error"] == 0.0
