import attrs
import pytest
import torch
from cosmos_core.training.checkpoint import CHECKPOINT_FORMAT, atomic_save
from cosmos_embed.config import ModelConfig
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.tasks.common import (
    CheckpointFamilyError,
    checkpoint_metadata,
    differing_fields,
    network_from_checkpoint,
    read_weights,
)


def tiny_model_config(**network) -> ModelConfig:
    return ModelConfig(network=attrs.evolve(preset("tiny"), **network))


def trainer_payload(model_state, metadata):
    return {
        "format": CHECKPOINT_FORMAT,
        "model": model_state,
        "optimizer": {},
        "scheduler": {},
        "scaler": None,
        "iteration": 1,
        "rng": [],
        "data": {},
        "metadata": metadata,
    }


def test_differing_fields_name_network_and_lora_paths():
    spec = tiny_model_config(embed_dim=48)
    trained = attrs.evolve(tiny_model_config(), lora=attrs.evolve(ModelConfig().lora, enabled=True))
    assert differing_fields(spec, trained, ("network", "lora")) == ["model.lora.enabled", "model.network.embed_dim"]
    assert differing_fields(spec, trained, ("network",)) == ["model.network.embed_dim"]


def test_checkpoint_config_wins_over_the_spec(tmp_path):
    trained_cfg = tiny_model_config()
    network = CosmosEmbed1(trained_cfg.network)
    metadata = {"family": "cosmos-embed1", "model": checkpoint_metadata_model(trained_cfg)}
    path = atomic_save(trainer_payload(network.state_dict(), metadata), tmp_path / "ckpt.pth")
    rebuilt, used = network_from_checkpoint(
        str(path), tiny_model_config(embed_dim=48, num_query_tokens=2), "evaluate.checkpoint"
    )
    assert used.network == trained_cfg.network
    for key, value in network.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value), key


def checkpoint_metadata_model(model_cfg: ModelConfig) -> dict:
    from cosmos_core.config.loader import unstructure

    return unstructure(model_cfg)


def test_a_checkpoint_of_another_family_is_refused(tmp_path):
    path = atomic_save(
        trainer_payload({"net.weight": torch.zeros(2)}, {"family": "cosmos-transfer1"}), tmp_path / "t.pth"
    )
    with pytest.raises(CheckpointFamilyError, match="is a cosmos-transfer1 checkpoint, not a cosmos-embed1 one"):
        read_weights(str(path), "evaluate.checkpoint")


def test_plain_state_dict_files_load_without_metadata(tmp_path):
    network = CosmosEmbed1(preset("tiny"))
    path = tmp_path / "weights.pth"
    torch.save(network.state_dict(), path)
    state, trained_with = read_weights(str(path), "evaluate.checkpoint")
    assert trained_with is None and set(state) == set(network.state_dict())


def test_checkpoint_metadata_holds_family_and_model_section():
    from cosmos_embed.config import ExperimentConfig

    metadata = checkpoint_metadata(ExperimentConfig())
    assert metadata["family"] == "cosmos-embed1"
    assert metadata["model"]["network"]["embed_dim"] == 256


def test_missing_weights_name_the_setting_that_pointed_at_them(tmp_path):
    from cosmos_embed.model.hub import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="^evaluate.checkpoint"):
        read_weights(str(tmp_path / "nope.pth"), "evaluate.checkpoint")


def test_bf16_on_cpu_runs_the_network_under_autocast_and_stays_close_to_fp32(cpu_bf16):
    from cosmos_embed.tasks.common import Encoder

    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny"))
    videos = torch.randint(0, 256, (2, 8, 3, 64, 64), dtype=torch.uint8)
    fp32 = Encoder.create(network, "fp32", torch.device("cpu"))
    bf16 = Encoder.create(network, "bf16", torch.device("cpu"))
    assert bf16.precision.name == "bf16"  # honoured on a CPU with bf16 instructions
    seen = []
    hook = network.visual_encoder.patch_embed.proj.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    reference, lowered = fp32.videos(videos), bf16.videos(videos)
    hook.remove()
    assert seen == [torch.float32, torch.bfloat16]
    assert lowered.dtype == torch.float32 and not torch.equal(lowered, reference)
    torch.testing.assert_close(lowered, reference, rtol=0, atol=0.05)
