"""Worker of the multi-rank tests: ``python -m torch.distributed.run --standalone --nproc_per_node N tp_worker.py
SCENARIOS OUT [options]``, or plain ``python tp_worker.py ...`` for the single-process reference run.

Every rank writes what it measured to ``OUT/<scenario>_rank<R>.json``; the tests compare. The networks are
the tiny preset in fp32 with the zero-initialised projections and AdaLN gates randomised (otherwise only
``zero_blocks`` would get gradients at first), on the CPU over gloo.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import torch
from cosmos_core.distributed import DistInfo, init_distributed, shutdown_distributed
from cosmos_core.family import DeviceRequest, ParallelDims
from cosmos_core.training import Callback, LoaderSettings, LoopSettings, OptimizerSettings, ShardedCheckpointer, Trainer
from cosmos_transfer.diffusion.denoise import denoising_loss
from cosmos_transfer.model.config import BASE_TINY, CONTROL_TINY
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.parallel.parallelize import parallelize_networks
from cosmos_transfer.parallel.shard_loading import load_base_shards, load_control_shards, load_network_shards
from cosmos_transfer.parallel.tensor_parallel import SequenceLengthError
from torch import nn
from torch.distributed.tensor import DTensor

LATENT = (3, 8, 8)  # 3 x 4 x 4 = 48 tokens: divisible by 2 and 4
CONTEXT_TOKENS = 8


def networks(seed: int = 0) -> TransferNetworks:
    torch.manual_seed(seed)
    nets = TransferNetworks(BASE_TINY, CONTROL_TINY)
    randomize(nets)
    return nets


def randomize(nets: TransferNetworks) -> None:
    nets.initialize_control_from_base()
    nets.freeze_base()
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for linear in [*nets.net.zero_blocks.values(), nets.net.input_hint_block[-1]]:
            linear.weight.copy_(0.05 * torch.randn(linear.weight.shape, generator=generator))
            linear.bias.copy_(0.05 * torch.randn(linear.bias.shape, generator=generator))
        for module in nets.modules():
            if hasattr(module, "adaLN_modulation"):
                gate = module.adaLN_modulation[-1].weight
                gate.copy_(0.02 * torch.randn(gate.shape, generator=generator))


def sample(index: int, latent: tuple[int, int, int] = LATENT) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1000 + index)
    return {
        "x0": 0.5 * torch.randn(16, *latent, generator=generator),
        "crossattn_emb": torch.randn(CONTEXT_TOKENS, 1024, generator=generator),
        "hint": torch.randn(16, *latent, generator=generator),
    }


def batch_of(indices: list[int]) -> dict[str, torch.Tensor]:
    samples = [sample(i) for i in indices]
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}


def loss_of(nets: TransferNetworks, batch: dict[str, torch.Tensor], generator: torch.Generator | None) -> torch.Tensor:
    def network(x, c_noise, mask):
        return TransferNetworks.forward(
            nets, x, c_noise, batch["crossattn_emb"], batch["hint"], condition_video_input_mask=mask
        )

    return denoising_loss(network, batch["x0"], logvar_head=nets.logvar, generator=generator).loss


def full(tensor: torch.Tensor) -> torch.Tensor:
    """The whole tensor on every rank (a DTensor gathered), detached."""
    return (tensor.full_tensor() if isinstance(tensor, DTensor) else tensor).detach()


def max_relative(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> tuple[float, str]:
    """The largest ``max|got - expected| / max|expected|`` over the tensors, and where."""
    worst, where = 0.0, ""
    for name, value in expected.items():
        error = float((full(got[name]) - value).abs().max() / (value.abs().max() + 1e-12))
        if error > worst:
            worst, where = error, name
    return worst, where


def update_error(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], start: dict[str, torch.Tensor]):
    """The largest ``max|got - expected|`` over the tensors, relative to how far training moved them
    (``max|expected - start|``), and where; the parameters that moved at all are counted."""
    worst, where, moved = 0.0, "", 0
    for name, value in expected.items():
        update = float((value - start[name]).abs().max())
        if update > 0:
            moved += 1
            error = float((full(got[name]) - value).abs().max()) / update
            if error > worst:
                worst, where = error, name
    return worst, where, moved


def replicated_mismatches(module: nn.Module) -> list[str]:
    """Replicated DTensor parameters whose local values differ between ranks (bitwise)."""
    bad = []
    for name, parameter in module.named_parameters():
        if isinstance(parameter, DTensor) and all(p.is_replicate() for p in parameter.placements):
            local = parameter.to_local().detach().contiguous()
            parts = [torch.empty_like(local) for _ in range(torch.distributed.get_world_size())]
            torch.distributed.all_gather(parts, local)
            if not all(torch.equal(part, parts[0]) for part in parts):
                bad.append(name)
    return bad


def write(out: Path, scenario: str, dist: DistInfo, record: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{scenario}_rank{dist.rank}.json").write_text(json.dumps(record, indent=1))


# -------------------------------------------------------------------------------------------------


MODES = {
    "sp": {"sequence_parallel": True},
    "no_sp": {"sequence_parallel": False},
    "sp_checkpointed": {"sequence_parallel": True, "activation_checkpointing": True},
}


def forward(out: Path, dist: DistInfo, args: argparse.Namespace) -> None:
    """TP forward and backward against the single-process ones: with and without sequence parallelism, and
    with activation checkpointing."""
    record = {}
    batch = batch_of([0, 1])
    mask = torch.zeros(2, 1, *LATENT)
    mask[:, :, :1] = 1  # the first latent frame is a condition frame
    inputs = {"condition_video_input_mask": mask, "fps": torch.tensor([24.0, 24.0])}
    for mode, options in MODES.items():
        reference = networks()
        parallel = parallelize_networks(copy.deepcopy(reference), dist, **options)
        results = []
        for nets in (reference, parallel):
            with torch.no_grad():
                output = nets(batch["x0"], torch.full((2,), 0.3), batch["crossattn_emb"], batch["hint"], **inputs)
            loss = loss_of(nets, batch, torch.Generator().manual_seed(5))
            loss.backward()
            grads = {name: full(p.grad) for name, p in nets.named_parameters() if p.grad is not None}
            results.append((output, float(loss.detach()), grads))
        (expected_output, expected_loss, expected_grads), (output, loss, grads) = results
        grad_error, where = max_relative(grads, expected_grads)
        record[mode] = {
            "output_error": float((output - expected_output).abs().max() / expected_output.abs().max()),
            "loss": loss,
            "expected_loss": expected_loss,
            "grad_error": grad_error,
            "grad_error_at": where,
            "grad_names": sorted(grads) == sorted(expected_grads),
            "parameter_types": sorted({type(p).__name__ for p in parallel.parameters()}),
            "replicated_mismatches": replicated_mismatches(parallel),
        }
    odd = {key: value[:, :, :, :2, :2] for key, value in batch.items() if key != "crossattn_emb"}  # 3 tokens
    odd["crossattn_emb"] = batch["crossattn_emb"]
    try:
        loss_of(parallelize_networks(networks(), dist), odd, None)
        record["odd_tokens"] = "no error"
    except SequenceLengthError as err:
        record["odd_tokens"] = str(err)
    write(out, "forward", dist, record)


def data_parallel(out: Path, dist: DistInfo, args: argparse.Namespace) -> None:
    """Three AdamW steps data parallel over the ranks (FSDP over ``dp_shard`` with activation checkpointing,
    or replicas), each data-parallel rank on its own part of the batch, against one process stepping on the
    mean loss of all parts."""
    steps, lr = 3, 1e-3
    reference = networks()
    fsdp = dist.dims.dp_shard > 1
    parallel = parallelize_networks(copy.deepcopy(reference), dist, fsdp=fsdp, activation_checkpointing=fsdp)
    optimizers = [
        torch.optim.AdamW([p for p in nets.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
        for nets in (reference, parallel)
    ]
    halves = dist.dp_size
    losses = []
    for step in range(steps):
        total = 0.0
        for half in range(halves):
            loss = loss_of(reference, batch_of([2 * step + half]), torch.Generator().manual_seed(100 * step + half))
            (loss / halves).backward()
            total += float(loss.detach()) / halves
        generator = torch.Generator().manual_seed(100 * step + dist.dp_rank)
        loss_of(parallel, batch_of([2 * step + dist.dp_rank]), generator).backward()
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad()
        losses.append(total)
    expected = {name: p.detach() for name, p in reference.named_parameters()}
    start = {name: p.detach() for name, p in networks().named_parameters()}
    error, where, moved = update_error(dict(parallel.named_parameters()), expected, start)
    trainable = sum(p.requires_grad for p in reference.parameters())
    record = {"update_error": error, "update_error_at": where, "moved": moved, "trainable": trainable, "losses": losses}
    write(out, "data_parallel", dist, record)


def load(out: Path, dist: DistInfo, args: argparse.Namespace) -> None:
    """Each rank loads its own shards of ``OUT/checkpoints_tp/{base_model,edge_control}.pt`` (split by the
    test) into freshly parallelized networks; records how far every tensor is from the consolidated files."""
    nets = parallelize_networks(networks(seed=7), dist, fsdp=dist.dims.dp_shard > 1)
    reports = [
        load_base_shards(nets, out / "checkpoints_tp" / "base_model.pt", dist),
        load_control_shards(nets, out / "checkpoints_tp" / "edge_control.pt", dist),
    ]
    expected = {
        **torch.load(out / "base_model.pt", weights_only=True),
        **torch.load(out / "edge_control.pt", weights_only=True),
    }
    state = nets.state_dict()
    error = max(float((full(state[key]) - value).abs().max()) for key, value in expected.items())
    record = {
        "error": error,
        "compared": len(expected),
        "files": [report.path.name for report in reports],
        "loaded": [report.loaded for report in reports],
    }
    write(out, "load", dist, record)


class DenoisingModule(TransferNetworks):
    """The Trainer's module: ``TransferNetworks`` (so its state dict is the reference's ``model`` layout)
    whose ``forward(batch)`` is the denoising loss on a batch of latents."""

    def __init__(self, options: dict) -> None:
        super().__init__(BASE_TINY, CONTROL_TINY)
        self.options = options

    def parallelize(self, dist: DistInfo) -> nn.Module:
        return parallelize_networks(self, dist, **self.options)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"loss": loss_of(self, batch, None)}


class Latents(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 12

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return sample(index)


class Losses(Callback):
    def __init__(self) -> None:
        self.values: list[float] = []

    def on_train_step_end(self, trainer, iteration, losses):
        self.values.append(losses["loss"])


def train(out: Path, dist: DistInfo, args: argparse.Namespace) -> None:
    """``--iterations`` steps of the core Trainer with sharded checkpoints in ``OUT/checkpoints``; with
    ``--load`` the weights come from that checkpoint (each rank its own shard, or a merged file at TP 1)."""
    torch.manual_seed(0)
    module = DenoisingModule({"sequence_parallel": True})
    randomize(module)
    if args.load and args.load.endswith("_reg_model.pt"):
        module.load_state_dict(torch.load(args.load, weights_only=True), strict=True)
    losses = Losses()
    trainer = Trainer(
        module=module,
        settings=LoopSettings(
            max_iter=args.iterations,
            checkpoint_every=args.iterations,
            seed=3,
            clip_grad_norm=1.0,
            optimizer=OptimizerSettings(name="adamw", lr=1e-3, weight_decay=0.01),
        ),
        dist=dist,
        train_dataset=Latents(),
        train_loader=LoaderSettings(batch_size=2, workers=0),
        checkpointer=ShardedCheckpointer(out / "checkpoints"),
        output_dir=out,
        callbacks=[losses],
    )
    if args.load and not args.load.endswith("_reg_model.pt"):
        load_network_shards(module, args.load, dist)
    trainer.fit()
    record = {
        "losses": losses.values,
        "replicated_mismatches": replicated_mismatches(module) if dist.is_distributed else [],
        "parameter_types": sorted({type(p).__name__ for p in module.parameters()}),
    }
    write(out, "train", dist, record)


SCENARIOS = {"forward": forward, "data_parallel": data_parallel, "load": load, "train": train}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("out", type=Path)
    parser.add_argument("--tp", type=int, default=1)
    parser.add_argument("--dp-shard", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--load", help="checkpoint to start the train scenario from")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dist = init_distributed(DeviceRequest(0), ParallelDims(dp_replicate=-1, dp_shard=args.dp_shard, tp=args.tp))
    try:
        for scenario in args.scenarios.split(","):
            SCENARIOS[scenario](args.out, dist, args)
    except BaseException:
        shutdown_distributed(clean=False)
        raise
    shutdown_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
