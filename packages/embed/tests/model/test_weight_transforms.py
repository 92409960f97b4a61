"""σReparam and DAMP on the trainable linears: what they compute, what they touch, how they fold away."""

from __future__ import annotations

import pytest
import torch
from cosmos_embed.model.damp import DampNoise, damp_std
from cosmos_embed.model.lora import apply_lora
from cosmos_embed.model.spectral import (
    SpectralReparam,
    expand_to_spectral,
    fold_spectral_state,
    initial_state,
    reparametrized,
)
from cosmos_embed.model.weight_transforms import TransformedLinear, trainable_linears, transform_trainable_linears
from torch import nn


def linear(out_features: int = 6, in_features: int = 5, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(in_features, out_features)


# -- σReparam -------------------------------------------------------------------------------------


def test_sigma_is_the_spectral_norm_and_gamma_starts_there():
    layer = linear()
    state = initial_state(layer.weight, "layer")
    largest = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
    assert state["gamma"].item() == pytest.approx(largest.item(), rel=1e-5)
    # γ/σ(W)·W: spectral norm γ whatever W's scale.
    scaled = reparametrized(layer.weight.detach() * 7.0, torch.tensor([2.0]), state["u"], state["v"])
    assert torch.linalg.matrix_norm(scaled, ord=2).item() == pytest.approx(2.0, rel=1e-4)


def test_enabling_sigma_reparam_leaves_evaluation_unchanged_and_folds_to_the_same_weights():
    plain = linear()
    x = torch.randn(4, 5)
    expected = plain(x)
    layer = TransformedLinear(plain, SpectralReparam(plain.weight, "layer"), None).eval()
    assert torch.equal(layer(x), expected)  # γ = σ(W) exactly: the function is unchanged
    with torch.no_grad():
        layer.spectral.gamma.mul_(0.5)  # as if trained
    state = fold_spectral_state(layer.state_dict())
    assert set(state) == {"weight", "bias"}
    refolded = nn.Linear(5, 6)
    refolded.load_state_dict(state)
    assert torch.equal(refolded(x), layer(x))  # the folded plain weight is exactly what evaluation uses
    assert torch.linalg.matrix_norm(state["weight"], ord=2).item() == pytest.approx(
        0.5 * torch.linalg.matrix_norm(plain.weight.detach(), ord=2).item(), rel=1e-4
    )


def test_training_runs_one_power_iteration_and_gradients_reach_gamma_and_weight():
    layer = TransformedLinear(linear(), None, None)
    layer.spectral = SpectralReparam(layer.weight, "layer")
    layer.spectral.u.copy_(torch.nn.functional.normalize(torch.ones(6), dim=0))  # far from converged
    before = layer.spectral.u.clone()
    layer.train()
    layer(torch.randn(3, 5)).pow(2).sum().backward()
    assert not torch.equal(layer.spectral.u, before)
    assert layer.weight.grad is not None and layer.spectral.gamma.grad is not None
    u = layer.spectral.u.clone()
    layer.eval()
    layer(torch.randn(3, 5))
    assert torch.equal(layer.spectral.u, u)  # evaluation never updates the estimate


def test_plain_weights_expand_to_sigma_reparam_state_that_reproduces_them():
    plain = linear()
    state = expand_to_spectral({"a.weight": plain.weight.detach(), "a.bias": plain.bias.detach()}, ["a."])
    assert {"a.spectral.gamma", "a.spectral.u", "a.spectral.v"} <= set(state)
    assert torch.equal(fold_spectral_state(state)["a.weight"], plain.weight.detach())


# -- DAMP -----------------------------------------------------------------------------------------


def test_damp_perturbs_training_forwards_only_and_evaluation_is_exact():
    plain = linear(out_features=64, in_features=64)
    x = torch.randn(8, 64)
    layer = TransformedLinear(plain, None, DampNoise(0.1))
    layer.eval()
    assert torch.equal(layer(x), plain(x))
    layer.train()
    first, second = layer(x), layer(x)
    assert not torch.allclose(first, plain(x), atol=1e-3) and not torch.allclose(first, second, atol=1e-3)


def test_damp_noise_is_multiplicative_gaussian_with_std_beta_and_the_gradient_is_taken_through_it():
    weight = torch.full((400, 500), 2.0, requires_grad=True)
    torch.manual_seed(5)
    perturbed = DampNoise(0.1)(weight)
    ratio = (perturbed / weight).detach()
    assert ratio.mean().item() == pytest.approx(1.0, abs=2e-3) and ratio.std().item() == pytest.approx(0.1, rel=2e-2)
    # d/dW sum(c * W ∘ ξ) = c ∘ ξ: the gradient at the perturbed weights, carried back through the noise.
    upstream = torch.randn(400, 500)
    torch.manual_seed(5)  # the same ξ again
    (upstream * DampNoise(0.1)(weight)).sum().backward()
    torch.testing.assert_close(weight.grad, upstream * ratio)


def test_damp_schedules():
    assert damp_std(0.1, "const", 0.25) == 0.1
    assert damp_std(0.1, "dynamic", 0.25) == pytest.approx(0.025)
    assert DampNoise(0.0)(torch.ones(3)) is not None and torch.equal(DampNoise(0.0)(torch.ones(3)), torch.ones(3))


# -- which linears --------------------------------------------------------------------------------


def test_only_trainable_untied_linears_are_transformed(make_tiny):
    network = make_tiny()
    network.freeze_visual_encoder()
    names = transform_trainable_linears(network, spectral=True, damp=DampNoise(0.1))
    assert names and not any(name.startswith("visual_encoder.") for name in names)  # frozen
    assert "qformer.cls.predictions.decoder" not in names  # tied to the word embeddings
    assert isinstance(network.vision_proj, TransformedLinear) and network.vision_proj.damp.std == 0.1
    assert "vision_proj.spectral.gamma" in network.state_dict() and "vision_proj.weight" in network.state_dict()
    assert transform_trainable_linears(make_tiny(), spectral=False, damp=None) == []


def test_with_lora_the_adapters_are_the_trainable_linears(make_tiny):
    from cosmos_embed.model.config import LoRAConfig

    network = apply_lora(make_tiny(), LoRAConfig(enabled=True, lora_rank=2, lora_dropout=0.0))
    names = trainable_linears(network)
    assert names and all("lora_" in name or "modules_to_save" in name for name in names)


def test_sigma_reparam_skips_loras_zero_b_matrices_which_it_would_freeze(make_tiny):
    from cosmos_embed.model.config import LoRAConfig

    network = apply_lora(make_tiny(), LoRAConfig(enabled=True, lora_rank=2, lora_dropout=0.0))
    names = transform_trainable_linears(network, spectral=True, damp=None)
    assert names and not [name for name in names if ".lora_B." in name]
    adapters = transform_trainable_linears(
        apply_lora(make_tiny(), LoRAConfig(enabled=True, lora_rank=2, lora_dropout=0.0)),
        spectral=True,
        damp=DampNoise(0.1),
    )
    assert [name for name in adapters if ".lora_B." in name]  # DAMP perturbs them; σReparam does not
