from __future__ import annotations

import math

import attrs
import pytest
import torch
from cosmos_embed.model.embed1 import QFORMER_PREFIX, CosmosEmbed1
from cosmos_embed.model.presets import preset


def test_embedding_shapes_and_norms(tiny_model, videos, text_batch):
    out = tiny_model(videos, *text_batch)
    assert out.visual_proj.shape == (3, 32) and out.text_proj.shape == (3, 32)
    assert out.visual_cls_tokens.shape == (3, 64)
    assert out.visual_query_output.shape == (3, 4, 64)
    assert out.text_embs.shape == (3, 32, 64)
    torch.testing.assert_close(out.visual_proj.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(out.text_proj.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(out.visual_cls_tokens, out.visual_query_output.mean(dim=1))


def test_uint8_and_unit_float_videos_agree(tiny_model, videos):
    from_uint8 = tiny_model.get_video_embeddings(videos).visual_proj
    from_float = tiny_model.get_video_embeddings(videos.float() / 255).visual_proj
    torch.testing.assert_close(from_uint8, from_float)


def test_padding_does_not_change_the_text_embedding(tiny_model, text_batch):
    input_ids, attention_mask = text_batch
    full = tiny_model.get_text_embeddings(input_ids, attention_mask).text_proj[1]
    garbage = input_ids.clone()
    garbage[1, 12:] = 77  # content under the padding mask must not matter
    again = tiny_model.get_text_embeddings(garbage, attention_mask).text_proj[1]
    torch.testing.assert_close(full, again)


def test_frames_are_normalised_inside_the_model(tiny_model):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 1, 3, 1, 1)
    assert tiny_model.normalization_mean.flatten().tolist() == pytest.approx(mean.flatten().tolist())
    assert "normalization_mean" not in tiny_model.state_dict()


def test_meta_device_construction_of_the_full_model():
    with torch.device("meta"):
        model = CosmosEmbed1(
            attrs.evolve(
                preset("448p"),
                visual_encoder=attrs.evolve(preset("448p").visual_encoder, transformer_engine=False),
            )
        )
    assert model.visual_encoder.pos_embed.shape == (1, 1025, 1408)
    assert model.visual_encoder.pos_embed.is_meta
    assert model.qformer.cls.predictions.decoder.weight is model.qformer.bert.embeddings.word_embeddings.weight


def test_meta_built_model_materialises_and_loads(tiny_model, videos):
    with torch.device("meta"):
        empty = CosmosEmbed1(preset("tiny"))
    empty = empty.to_empty(device="cpu")
    empty.load_state_dict(tiny_model.state_dict())
    expected = tiny_model.get_video_embeddings(videos).visual_proj
    torch.testing.assert_close(empty.eval().get_video_embeddings(videos).visual_proj, expected)


@pytest.mark.parametrize("contrastive_type", ["clip", "siglip"])
def test_init_weights_writes_every_tensor_of_a_meta_built_model(contrastive_type):
    """``to_empty`` leaves garbage: poisoned with NaN, init_weights must overwrite all of it, giving the
    constants a normal construction gives."""
    cfg = attrs.evolve(preset("tiny"), contrastive_type=contrastive_type)
    with torch.device("meta"):
        empty = CosmosEmbed1(cfg)
    empty = empty.to_empty(device="cpu")
    with torch.no_grad():
        for tensor in [*empty.parameters(), *empty.buffers()]:
            tensor.fill_(float("nan"))
    empty.init_weights()
    left = [name for name, t in [*empty.named_parameters(), *empty.named_buffers()] if t.isnan().any()]
    assert left == []
    built = CosmosEmbed1(cfg)
    ours = {**dict(empty.named_parameters()), **dict(empty.named_buffers())}
    theirs = {**dict(built.named_parameters()), **dict(built.named_buffers())}
    for name in ("logit_scale", "logit_bias", "temporal_encoding.weight", "normalization_std", "ln_vision.weight"):
        torch.testing.assert_close(ours[name], theirs[name], msg=name)


def test_state_dict_key_layout(tiny_model):
    keys = set(tiny_model.state_dict())
    assert {
        "visual_encoder.pos_embed",
        "visual_encoder.cls_token",
        "ln_vision.weight",
        "query_tokens",
        "vision_proj.weight",
        "text_proj.bias",
        "itm_proj.weight",
        "logit_scale",
        "logit_bias",
        "temporal_encoding.weight",
    } <= keys
    assert "visual_encoder.blocks.0.attn.qkv.bias" in keys
    q = QFORMER_PREFIX + "bert.encoder.layer."
    assert q + "0.crossattention.self.key.weight" in keys and q + "1.crossattention.self.key.weight" not in keys
    assert q + "0.intermediate_query.dense.weight" in keys
    assert QFORMER_PREFIX + "cls.predictions.decoder.weight" in keys
    assert not any("token_type" in key for key in keys)


@pytest.mark.parametrize(("contrastive", "scale", "bias"), [("clip", 1 / 0.07, 0.0), ("siglip", 10.0, -10.0)])
def test_initial_logit_scale_follows_the_contrastive_type(make_tiny, contrastive, scale, bias):
    model = make_tiny(contrastive_type=contrastive)
    assert model.logit_scale.item() == pytest.approx(math.log(scale))
    assert model.logit_bias.item() == pytest.approx(bias)


def test_temporal_encoding_types(make_tiny, videos):
    for encoding in ("neighboring_token_propagation", "temporal_parameter"):
        model = make_tiny(temporal_encoding_type=encoding)
        before = model.get_video_embeddings(videos).visual_proj
        with torch.no_grad():
            model.temporal_encoding.weight.normal_(std=0.5)
        after = model.get_video_embeddings(videos).visual_proj
        assert not torch.allclose(before, after), encoding


def test_temporal_propagation_uses_neighbouring_frames(make_tiny, videos):
    model = make_tiny()
    with torch.no_grad():
        model.temporal_encoding.weight.fill_(1.0)
    swapped = videos.clone()
    swapped[:, [6, 7]] = videos[:, [7, 6]]
    # Frame order matters once tokens propagate between neighbours.
    assert not torch.allclose(
        model.get_video_embeddings(videos).visual_proj, model.get_video_embeddings(swapped).visual_proj
    )


@pytest.mark.parametrize(("pooling", "shape"), [("attention", (3, 32)), ("identity", (3, 4, 32))])
def test_query_pooling_types(make_tiny, videos, pooling, shape):
    model = make_tiny(query_pooling_type=pooling)
    out = model.get_video_embeddings(videos)
    assert out.visual_proj.shape == shape
    torch.testing.assert_close(out.visual_proj.norm(dim=-1), torch.ones(shape[:-1]))


def test_heldout_frames_only_in_training(make_tiny, videos):
    model = make_tiny(num_heldout_frames=3)
    encoded_frames = []
    model.visual_encoder.register_forward_hook(lambda module, args, out: encoded_frames.append(args[0].shape[0]))
    model.get_video_embeddings(videos)
    model.train()
    out = model.get_video_embeddings(videos)
    assert encoded_frames == [3 * 8, 3 * 5]
    assert out.visual_proj.shape == (3, 32)


def test_wrong_inputs_fail_clearly(tiny_model):
    with pytest.raises(ValueError, match="spatial_resolution"):
        tiny_model.get_video_embeddings(torch.zeros(1, 8, 3, 32, 32))
    with pytest.raises(ValueError, match="num_video_frames"):
        tiny_model.get_video_embeddings(torch.zeros(1, 9, 3, 64, 64))
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        tiny_model.get_video_embeddings(torch.zeros(8, 3, 64, 64))


def test_invalid_config_refuses_to_build():
    with pytest.raises(ValueError, match="does not go with"):
        CosmosEmbed1(attrs.evolve(preset("tiny"), scale="full"))


def test_transformer_engine_falls_back_with_one_warning(caplog):
    from cosmos_embed.model import te_backend

    te_backend._warned = False
    cfg = attrs.evolve(
        preset("tiny"), visual_encoder=attrs.evolve(preset("tiny").visual_encoder, transformer_engine=True)
    )
    CosmosEmbed1(cfg)
    CosmosEmbed1(cfg)
    messages = [r.getMessage() for r in caplog.records if "transformer_engine" in r.getMessage()]
    if torch.cuda.is_available():
        pytest.skip("CUDA present: Transformer Engine may be usable here")
    assert len(messages) == 1 and "PyTorch" in messages[0]


def test_gradients_reach_every_parameter_through_the_losses(make_tiny, videos, text_batch):
    from cosmos_embed.losses import captioning_loss, matching_loss, siglip_loss

    model = make_tiny(contrastive_type="siglip")
    model.train()
    input_ids, attention_mask = text_batch
    out = model(videos, input_ids, attention_mask)
    loss = siglip_loss(out.visual_proj, out.text_proj, model.logit_scale, model.logit_bias)
    loss = loss + captioning_loss(model, out.visual_query_output, input_ids, attention_mask, 545, 0)
    loss = loss + matching_loss(
        model,
        out.visual_query_output,
        input_ids,
        attention_mask,
        out.visual_proj,
        out.text_proj,
        model.logit_scale,
    )
    loss.backward()
    without_grad = [name for name, p in model.named_parameters() if p.grad is None]
    assert without_grad == []
