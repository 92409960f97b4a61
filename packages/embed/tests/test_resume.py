"""Adapting a checkpoint's weights to the live network on resume (train.strict_resume, σReparam layouts)."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.training.checkpoint import CheckpointError
from cosmos_embed.model.spectral import SpectralReparam
from cosmos_embed.model.weight_transforms import TransformedLinear
from cosmos_embed.resume import adapt_weights
from torch import nn


def plain_layer(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 4))


def reparam_layer(seed: int = 0) -> nn.Sequential:
    model = plain_layer(seed)
    model[0] = TransformedLinear(model[0], SpectralReparam(model[0].weight, "0"), None)
    return model


def test_matching_weights_pass_through_unchanged():
    state = plain_layer().state_dict()
    adapted = adapt_weights(state, plain_layer(1).state_dict(), strict=True, source="ckpt")
    assert not adapted.layout_changed and all(torch.equal(adapted.state[k], v) for k, v in state.items())


def test_sigma_reparam_checkpoint_into_a_plain_run_is_folded_and_back_is_expanded():
    trained = reparam_layer().eval()
    with torch.no_grad():
        trained[0].spectral.gamma.mul_(0.5)
    x = torch.randn(3, 5)
    folded = adapt_weights(trained.state_dict(), plain_layer(1).state_dict(), strict=True, source="ckpt")
    assert folded.converted and folded.layout_changed and set(folded.state) == {"0.weight", "0.bias"}
    plain = plain_layer(1)
    plain.load_state_dict(folded.state)
    assert torch.equal(plain(x), trained(x))
    expanded = adapt_weights(plain.state_dict(), reparam_layer(1).state_dict(), strict=True, source="ckpt")
    again = reparam_layer(2).eval()
    again.load_state_dict(expanded.state)
    torch.testing.assert_close(again(x), trained(x), rtol=0, atol=1e-6)


def test_strict_resume_refuses_what_does_not_match_and_lenient_resume_keeps_current_values(caplog):
    saved = {**plain_layer().state_dict(), "extra.weight": torch.zeros(2)}
    del saved["0.bias"]
    live = plain_layer(1).state_dict()
    with pytest.raises(CheckpointError, match="train.strict_resume is true") as info:
        adapt_weights(saved, live, strict=True, source="ckpt")
    assert "1 missing key(s): 0.bias" in str(info.value) and "1 unexpected key(s): extra.weight" in str(info.value)
    adapted = adapt_weights(saved, live, strict=False, source="ckpt")
    assert set(adapted.state) == {"0.weight", "0.bias"} and adapted.layout_changed
    assert torch.equal(adapted.state["0.bias"], live["0.bias"])  # the current value
    assert torch.equal(adapted.state["0.weight"], saved["0.weight"])
    assert "loaded non-strictly (train.strict_resume=false)" in caplog.text
