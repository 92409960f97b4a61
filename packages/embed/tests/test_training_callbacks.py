"""spectral_norm_monitor, the DAMP schedule and the ema callback, driven with a stand-in trainer."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.training.optim import build_scheduler
from cosmos_core.training.settings import ScheduleSettings
from cosmos_embed.callbacks import DampSchedule, EMAUpdate, SpectralNormMonitor
from cosmos_embed.config import DAMPConfig, Embed1TrainConfig
from cosmos_embed.ema import EMAWeights
from cosmos_embed.model.damp import DampNoise
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.training_module import Embed1TrainingModule


class Trainer:
    def __init__(self, module, scheduler=None) -> None:
        self.module = module
        self.scheduler = scheduler
        self.is_main = True
        self.logged: list[dict] = []

    def log_values(self, values) -> None:
        self.logged.append(dict(values))


def training_module(**train) -> Embed1TrainingModule:
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny"))
    return Embed1TrainingModule(network, Embed1TrainConfig(freeze_visual_encoder=True, **train), 0, 0, None)


def test_spectral_norm_monitor_logs_the_largest_singular_value_of_each_applied_weight():
    module = training_module(spectral_reparam=True)
    with torch.no_grad():
        module.network.text_proj.spectral.gamma.fill_(3.0)
    trainer = Trainer(module)
    monitor = SpectralNormMonitor(every_n=2, verbose=True)
    monitor.on_train_step_end(trainer, 1, {})
    assert trainer.logged == []
    monitor.on_train_step_end(trainer, 2, {})
    [values] = trainer.logged
    assert values["spectral_norm/text_proj"] == pytest.approx(3.0, rel=1e-4)  # γ/σ(W)·W has norm γ
    attention = module.network.qformer.bert.encoder.layer[0].attention.self.query
    expected = torch.linalg.matrix_norm(attention.weight.detach(), ord=2).item()  # γ = σ(W) at the start
    assert values["spectral_norm/qformer.bert.encoder.layer.0.attention.self.query"] == pytest.approx(expected)
    assert not any(name.startswith("spectral_norm/visual_encoder") for name in values)  # frozen: not trained
    per_layer = [v for k, v in values.items() if k not in ("spectral_norm/max", "spectral_norm/mean")]
    assert values["spectral_norm/max"] == max(per_layer) == values["spectral_norm/text_proj"]
    assert values["spectral_norm/mean"] == pytest.approx(sum(per_layer) / len(per_layer))
    quiet = Trainer(training_module())
    SpectralNormMonitor(every_n=1, verbose=False).on_train_step_end(quiet, 1, {})
    assert set(quiet.logged[0]) == {"spectral_norm/max", "spectral_norm/mean"}


def test_dynamic_damp_follows_the_learning_rate_schedule():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = build_scheduler(optimizer, ScheduleSettings(warmup_steps=4, policy="constant"))
    noise = DampNoise(0.2)
    schedule = DampSchedule(noise, beta=0.2)
    trainer = Trainer(None, scheduler)
    schedule.on_train_start(trainer)
    levels = [noise.std]
    for step in range(1, 6):
        optimizer.step()
        scheduler.step()
        schedule.on_train_step_end(trainer, step, {})
        levels.append(noise.std)
    assert levels == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.2])  # β · lr / peak lr, warm-up then flat


def test_the_training_module_wires_damp_into_its_trainable_linears():
    module = training_module(damp=DAMPConfig(enabled=True, beta=0.3))
    assert module.damp_noise.std == 0.3 and module.network.vision_proj.damp is module.damp_noise
    assert module.transformed_linears and not any(n.startswith("visual_encoder") for n in module.transformed_linears)


def test_the_ema_callback_attaches_at_start_updates_every_step_and_checkpoints_its_state():
    module = training_module()
    callback = EMAUpdate(EMAWeights(0.5))
    trainer = Trainer(module)
    callback.on_train_start(trainer)
    with torch.no_grad():
        module.network.vision_proj.bias.fill_(4.0)
    callback.on_train_step_end(trainer, 1, {})
    state = callback.state_dict()
    assert state["updates"] == 1 and state["shadow"]["vision_proj.bias"].unique().tolist() == [2.0]
    assert "visual_encoder.pos_embed" not in state["shadow"]  # frozen


def test_damp_leaves_the_evaluation_network_exact_and_perturbs_training_forwards():
    plain, perturbed = training_module(), training_module(damp=DAMPConfig(enabled=True, beta=0.5))
    videos = torch.randint(0, 256, (2, 8, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        reference = plain.eval().get_video_embeddings(videos).visual_proj
        assert torch.equal(perturbed.eval().get_video_embeddings(videos).visual_proj, reference)
        noisy = perturbed.train().get_video_embeddings(videos).visual_proj
    assert (noisy - reference).abs().max() > 1e-3


def test_validation_during_training_measures_the_ema_weights():
    from cosmos_core.plugins import load_plugins
    from cosmos_core.training import default_validate
    from cosmos_embed.tasks.train import EMAValidation
    from cosmos_embed.text.tokenizer import build_tokenizer

    contrastive = load_plugins().registries["losses"].get("clip")
    tokenizer = build_tokenizer(preset("tiny"))

    def module() -> Embed1TrainingModule:
        torch.manual_seed(0)
        ids = tokenizer.dec_token_id, tokenizer.pad_token_id
        return Embed1TrainingModule(CosmosEmbed1(preset("tiny")), Embed1TrainConfig(), *ids, contrastive).eval()

    live, shadowed = module(), module()
    ema = EMAWeights(0.5)
    ema.attach(live.network)
    with torch.no_grad():
        ema.shadow["text_proj.weight"].mul_(-1.0)
        shadowed.network.text_proj.weight.mul_(-1.0)
    tokens = tokenizer(["a red square moving right", "a blue circle moving up"])
    batch = {"video": torch.randint(0, 256, (2, 8, 3, 64, 64), dtype=torch.uint8), **tokens}
    with torch.no_grad():
        assert EMAValidation(ema)(live, batch) == default_validate(shadowed, batch)
        assert default_validate(live, batch) != default_validate(shadowed, batch)  # and the live weights are back
