"""Devices, meshes, torchrun launching, and data-parallel training with 2 gloo processes on CPU.

Run as a script (``RANK=.. WORLD_SIZE=2 python test_distributed.py OUT``) this file is the worker of
:func:`test_two_gloo_processes_match_a_single_process`; the workers meet through a file store in
``OUT`` (no ports).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from cosmos_core import distributed
from cosmos_core.config.loader import ConfigError
from cosmos_core.distributed import (
    all_gather_with_grad,
    maybe_relaunch,
    resolve_parallel_dims,
    select_device,
    torchrun_command,
)
from cosmos_core.family import DeviceRequest, ParallelDims
from cosmos_core.training import (
    Callback,
    LoaderSettings,
    LoopSettings,
    OptimizerSettings,
    SingleFileCheckpointer,
    Trainer,
    load_checkpoint,
)
from torch import nn

# -------------------------------------------------------------------------------------------------
# A CLIP-style toy: two linear towers, a learnable temperature, a symmetric InfoNCE loss computed on
# the batch gathered from all ranks.
# -------------------------------------------------------------------------------------------------


class TwoTower(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.video = nn.Linear(6, 4)
        self.text = nn.Linear(5, 4)
        self.logit_scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        video = all_gather_with_grad(F.normalize(self.video(batch["video"]), dim=-1))
        text = all_gather_with_grad(F.normalize(self.text(batch["text"]), dim=-1))
        logits = self.logit_scale.exp() * video @ text.T
        labels = torch.arange(len(video))
        return {"contrastive": (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2}


class PairDataset(torch.utils.data.Dataset):
    def __init__(self, size: int = 16) -> None:
        generator = torch.Generator().manual_seed(11)
        classes = torch.randn(size, 3, generator=generator)
        self.video = torch.cat([classes, torch.randn(size, 3, generator=generator)], dim=1)
        self.text = torch.cat([classes, torch.randn(size, 2, generator=generator)], dim=1)

    def __len__(self) -> int:
        return len(self.video)

    def __getitem__(self, index: int) -> dict:
        return {"video": self.video[index], "text": self.text[index]}


class LossLog(Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_step_end(self, trainer, iteration, losses):
        self.losses.append(losses["contrastive"])


def train_toy(output_dir: Path, batch_size: int) -> tuple[Trainer, LossLog]:
    settings = LoopSettings(
        optimizer=OptimizerSettings(name="adamw", lr=0.05, weight_decay=0.01),
        max_iter=3,
        checkpoint_every=100,
        seed=1234,
        precision="fp32",
    )
    torch.manual_seed(0)
    log = LossLog()
    trainer = Trainer(
        module=TwoTower(),
        settings=settings,
        train_dataset=PairDataset(),
        train_loader=LoaderSettings(batch_size=batch_size),
        checkpointer=SingleFileCheckpointer(output_dir, "toy"),
        callbacks=[log],
    )
    trainer.fit()
    return trainer, log


def worker(out: Path) -> None:
    """Each of 2 ranks: gradients of one step on its half of 8 pairs, then 3 Trainer iterations."""
    torch.set_num_threads(1)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{out / 'store'}", rank=rank, world_size=world_size
    )
    info = distributed.init_distributed(DeviceRequest(num_gpus=0))
    assert info.world_size == 2 and info.device.type == "cpu" and info.mesh.mesh_dim_names == distributed.MESH_DIMS
    assert (info.dp_size, info.dp_rank, info.tp_size) == (2, rank, 1)
    assert distributed.host_sum(rank + 1) == 3 and distributed.host_sum(5, info.dp_mesh.get_group()) == 10
    data = PairDataset()
    rows = slice(4 * info.rank, 4 * info.rank + 4)
    torch.manual_seed(0)
    model = distributed.wrap_ddp(TwoTower(), info)
    loss = model({"video": data.video[:8][rows], "text": data.text[:8][rows]})["contrastive"]
    loss.backward()
    grads = {name: p.grad for name, p in model.module.named_parameters()}
    torch.save({"loss": loss.detach(), "grads": grads}, out / f"grads_{info.rank}.pt")
    del model  # a DDP reducer must not outlive the group

    trainer, log = train_toy(out / "train", batch_size=2)
    state = {name: value.clone() for name, value in trainer.module.state_dict().items()}
    torch.save({"weights": state, "losses": log.losses}, out / f"trained_{info.rank}.pt")
    distributed.shutdown_distributed()


def test_two_gloo_processes_match_a_single_process(tmp_path):
    """Two workers with torchrun's RANK/WORLD_SIZE environment, meeting through a file store."""
    env = {k: v for k, v in os.environ.items() if k not in distributed.TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", WORLD_SIZE="2")
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, str(tmp_path)],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [worker.communicate(timeout=180)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    # One step: the loss over the gathered batch and DDP-averaged gradients equal one process's.
    data = PairDataset()
    torch.manual_seed(0)
    reference = TwoTower()
    expected_loss = reference({"video": data.video[:8], "text": data.text[:8]})["contrastive"]
    expected_loss.backward()
    for rank in (0, 1):
        got = torch.load(tmp_path / f"grads_{rank}.pt", weights_only=True)
        torch.testing.assert_close(got["loss"], expected_loss.detach(), rtol=1e-6, atol=1e-7)
        for name, param in reference.named_parameters():
            torch.testing.assert_close(got["grads"][name], param.grad, rtol=1e-5, atol=1e-7, msg=name)

    # Three Trainer iterations with 2 x batch 2 equal one process with batch 4: each global batch holds
    # the same pairs (the loss does not depend on their order), so losses and weights match.
    single, single_log = train_toy(tmp_path / "single", batch_size=4)
    ranks = [torch.load(tmp_path / f"trained_{rank}.pt", weights_only=True) for rank in (0, 1)]
    for name, value in ranks[0]["weights"].items():
        assert torch.equal(value, ranks[1]["weights"][name]), f"ranks disagree on {name}"
        torch.testing.assert_close(value, single.module.state_dict()[name], rtol=1e-5, atol=1e-6, msg=name)
    assert ranks[0]["losses"] == ranks[1]["losses"]
    assert ranks[0]["losses"] == pytest.approx(single_log.losses, rel=1e-5)
    torch.manual_seed(0)
    assert not torch.equal(TwoTower().video.weight, single.module.video.weight)  # it did train

    payload = load_checkpoint(tmp_path / "train" / "toy_3.pth")
    assert payload["iteration"] == 3 and len(payload["rng"]) == 2
    assert payload["data"] == {"epoch": 0, "position": 6, "dataset_size": 16, "num_replicas": 2, "seed": 1234}


# -------------------------------------------------------------------------------------------------
# Single-process behaviour
# -------------------------------------------------------------------------------------------------


def test_all_gather_with_grad_is_the_identity_in_one_process():
    tensor = torch.randn(3, 2, requires_grad=True)
    assert all_gather_with_grad(tensor) is tensor


def test_host_sum_in_one_process_is_the_value():
    assert distributed.host_sum(7) == 7


def test_init_distributed_without_torchrun_is_a_no_op(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = distributed.init_distributed(DeviceRequest(num_gpus=0))
    assert (info.rank, info.world_size, info.local_rank, info.device) == (0, 1, 0, torch.device("cpu"))
    assert info.is_main and not info.is_distributed
    assert not torch.distributed.is_initialized()
    assert distributed.wrap_ddp(module := nn.Linear(1, 1), info) is module
    assert distributed.is_main_process()
    distributed.barrier()


def test_select_device_cpu_when_no_gpus_requested(caplog):
    assert select_device(0, [0]) == torch.device("cpu")
    assert not caplog.records


def test_select_device_falls_back_to_cpu_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="cosmos"):
        assert select_device(2, [0, 1], setting="train.num_gpus") == torch.device("cpu")
    assert len(caplog.records) == 1
    assert "train.num_gpus=2 asks for GPUs but CUDA is not available" in caplog.records[0].getMessage()


def test_select_device_rejects_a_missing_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_device(1, [1]) == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"gpu_ids=\[3\] names GPU 3, but only 2 GPU\(s\) are visible"):
        select_device(1, [3])


# -------------------------------------------------------------------------------------------------
# Parallel layouts
# -------------------------------------------------------------------------------------------------


def test_data_parallel_takes_what_the_other_sizes_leave():
    assert resolve_parallel_dims(ParallelDims(tp=2), 8) == ParallelDims(dp_replicate=4, dp_shard=1, tp=2)
    assert resolve_parallel_dims(ParallelDims(dp_shard=2, tp=2), 8).dp_replicate == 2
    assert resolve_parallel_dims(ParallelDims(), 1) == ParallelDims(dp_replicate=1)


def test_a_layout_that_does_not_factor_the_world_names_the_config_paths():
    dims = ParallelDims(tp=2, sources={"tp": "model_parallel.tensor_model_parallel_size"})
    with pytest.raises(
        ConfigError,
        match=r"3 process\(es\) cannot be split into groups of tp "
        r"\(model_parallel\.tensor_model_parallel_size\)=2 x dp_shard=1: start a multiple of 2",
    ):
        resolve_parallel_dims(dims, 3)
    with pytest.raises(ConfigError, match=r"= 4 processes, but the job has 2"):
        resolve_parallel_dims(ParallelDims(dp_replicate=2, tp=2), 2)
    with pytest.raises(ConfigError, match=r"tp must be >= 1"):
        resolve_parallel_dims(ParallelDims(tp=0), 2)


def test_rank_coordinates_follow_the_row_major_mesh():
    """rank = (dp_replicate * dp_shard_size + dp_shard) * tp + tp_rank: a TP group is contiguous ranks."""
    dims = ParallelDims(dp_replicate=2, dp_shard=1, tp=4)
    coords = [
        (info.dp_rank, info.tp_rank)
        for info in (distributed.DistInfo(rank, 8, rank, torch.device("cpu"), dims=dims) for rank in range(8))
    ]
    assert coords == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3)]


def test_several_processes_are_needed_for_tensor_parallelism(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ConfigError, match="1 process"):
        distributed.init_distributed(DeviceRequest(0), ParallelDims(tp=2))


ARGV = ["cosmos-embed1", "train", "-e", "finetune_224p.yaml", "train.num_gpus=4"]


def test_torchrun_command_single_node():
    assert torchrun_command(4, 1, ARGV) == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "4",
        "--nnodes",
        "1",
        "--standalone",
        "-m",
        "cosmos_core.cli",
        *ARGV,
    ]


def test_torchrun_command_multi_node_reads_the_rendezvous_env(monkeypatch):
    monkeypatch.setenv("NODE_RANK", "1")
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.5")
    monkeypatch.setenv("MASTER_PORT", "29600")
    command = torchrun_command(8, 2, ARGV)
    assert command[3:15] == [
        "--nproc_per_node",
        "8",
        "--nnodes",
        "2",
        "--node_rank",
        "1",
        "--master_addr",
        "10.0.0.5",
        "--master_port",
        "29600",
        "-m",
        "cosmos_core.cli",
    ]
    monkeypatch.delenv("MASTER_ADDR")
    with pytest.raises(ValueError, match="train.num_nodes=2 needs MASTER_ADDR"):
        torchrun_command(8, 2, ARGV)


def test_torchrun_command_all_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert torchrun_command(-1, 1, ARGV)[4] == "3"


class FakeProcess:
    commands: list[list[str]] = []

    def __init__(self, command):
        FakeProcess.commands.append(command)

    def wait(self):
        return 7


@pytest.fixture
def fake_gpus(monkeypatch):
    def set_count(count: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)

    for name in distributed.TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    FakeProcess.commands = []
    monkeypatch.setattr(distributed.subprocess, "Popen", FakeProcess)
    return set_count


def test_maybe_relaunch_runs_in_process_when_one_process_is_enough(fake_gpus, monkeypatch):
    fake_gpus(4)
    assert maybe_relaunch(DeviceRequest(1, 1), ARGV) is None
    assert maybe_relaunch(DeviceRequest(0, 1), ARGV) is None
    fake_gpus(0)
    assert maybe_relaunch(DeviceRequest(2, 1), ARGV) is None  # no CUDA: select_device warns and uses the CPU
    fake_gpus(1)
    assert maybe_relaunch(DeviceRequest(-1, 1), ARGV) is None
    fake_gpus(4)
    monkeypatch.setenv("LOCAL_RANK", "0")  # already a torchrun worker
    assert maybe_relaunch(DeviceRequest(4, 1), ARGV) is None
    assert FakeProcess.commands == []


def test_maybe_relaunch_starts_torchrun_and_returns_its_exit_code(fake_gpus, caplog):
    fake_gpus(2)
    assert maybe_relaunch(DeviceRequest(-1, 1), ARGV) == 7
    assert FakeProcess.commands[-1] == torchrun_command(2, 1, ARGV)
    with caplog.at_level(logging.WARNING, logger="cosmos"):
        assert maybe_relaunch(DeviceRequest(4, 1, setting="train.num_gpus"), ARGV) == 7
    assert FakeProcess.commands[-1][4] == "2"
    assert "train.num_gpus=4 but only 2 GPU(s) are visible" in caplog.text


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
